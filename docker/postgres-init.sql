-- Runs once, when the postgres container initialises an empty data directory.
-- pgvector for the indexer's embedding tables; the services create their own tables.
CREATE EXTENSION IF NOT EXISTS vector;
