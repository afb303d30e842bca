"""Smoke tests written for a project that has none, for the coder to improve."""
