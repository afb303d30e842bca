"""Cut source files into chunks of bounded tokens, on syntax boundaries (pure)."""
