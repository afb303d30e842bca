"""The indexer's PostgreSQL tables: one chunk table per embedding space, indexing status."""
