"""The small-model strategy: localize -> repair (one schema-bound answer of edits) -> validate."""
