"""The tests a run adds and reads: the model's new test (its new part, its imports), the goal's
examples and bad inputs as assertions, and the failures a run's output points at."""
