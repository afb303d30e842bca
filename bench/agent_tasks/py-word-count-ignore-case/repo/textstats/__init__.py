"""Counting words."""
