"""Whole-symbol edits: find a function or class by its syntax and replace it (pure)."""
