"""Traces (OpenTelemetry, off unless configured) and metrics (Prometheus) of every process."""
