"""Test results read from every runner's report format, coverage, and console counts (pure)."""
