"""Test-driven selection: several candidate runs of an attempt, the best kept."""
