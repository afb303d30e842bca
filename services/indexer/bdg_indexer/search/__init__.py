"""Code search: vector, full-text or both fused, and the NATS responder that answers it."""
