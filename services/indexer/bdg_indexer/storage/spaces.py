"""One chunk table per embedding space (model + dimensions), created idempotently.

Vectors of different models cannot be compared and pgvector columns have a fixed dimension, so
each space gets its own table; ``embedding_spaces`` lists them. The DDL runs under a
transaction-scoped advisory lock: several indexer copies starting at once would otherwise race
on ``CREATE EXTENSION`` / ``CREATE TABLE IF NOT EXISTS`` (both can fail with a unique violation
in the catalogs when run concurrently).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

# pg_advisory_xact_lock key: any constant of our own; "bdg_indexer.schema" hashed by hand so it
# does not depend on hashtext(), whose output PostgreSQL does not promise to keep stable.
SCHEMA_LOCK = int.from_bytes(hashlib.sha256(b"bdg_indexer.schema").digest()[:8], "big", signed=True)
REGISTRY = "embedding_spaces"
HNSW_MAX_DIMS = 2000  # pgvector cannot index `vector` columns wider than this
# Text search configuration. 'english' stems ("retries" and "retry" meet, "redirects" and
# "redirecting" too) and drops English stop words; identifiers are split into words before it
# sees them (split_sql), and the query side (fulltext.py) splits the same way. 'simple' (no
# stemming) found fewer answers: full-text recall@6 0.80 against 0.89 on bench.retrieval_quality.
TS_CONFIG = "english"
# camelCase / PascalCase / ACRONYMWord boundaries get a space, then everything that is not a
# letter or digit (`_`, `.`, `/`, operators) becomes a space: `self._pool.handleRequest` is
# indexed as "self pool handle Request". Keep in step with fulltext.split_identifiers.
CAMEL_PATTERN = "([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])"
NON_WORD_PATTERN = "[^A-Za-z0-9]+"


def split_sql(column: str) -> str:
    camel = f"regexp_replace({column}, '{CAMEL_PATTERN}', '\\1\\3 \\2\\4', 'g')"
    return f"regexp_replace({camel}, '{NON_WORD_PATTERN}', ' ', 'g')"


@dataclass(frozen=True)
class EmbeddingSpace:
    """Where vectors of one model live. The table name is derived, never taken from input."""

    model_name: str
    dims: int

    def __post_init__(self) -> None:
        if not 1 <= self.dims <= HNSW_MAX_DIMS:
            raise ValueError(
                f"{self.model_name}: {self.dims} dimensions; an HNSW index on `vector` takes "
                f"1..{HNSW_MAX_DIMS} (wider models need halfvec, not supported here)"
            )

    @property
    def table(self) -> str:
        # A short digest keeps two names that slug alike apart ("a-b" vs "a_b"); the slug is
        # cut so the index names (table + suffix) stay under PostgreSQL's 63-byte limit.
        slug = re.sub(r"[^a-z0-9]+", "_", self.model_name.lower()).strip("_")[:24] or "model"
        digest = hashlib.sha256(self.model_name.encode()).hexdigest()[:6]
        return f"code_chunks_{slug}_{digest}_{self.dims}"

    @property
    def terms_table(self) -> str:
        """Document frequency of each lexeme per (tenant, repo): see ``_term_counts``."""
        return f"{self.table}_terms"

    @property
    def term_deltas_table(self) -> str:
        """Chunks' lexemes added (+1) or removed (-1), not yet folded into ``terms_table``."""
        return f"{self.table}_tdelta"  # short: its index name must stay under 63 bytes


async def ensure_space(
    conn: AsyncConnection[Any], space: EmbeddingSpace, *, vector_index: bool = True
) -> None:
    """Create the extension, the registry, the space's table and its indexes if missing.

    ``vector_index=False`` leaves the HNSW index out (see ``create_vector_index``): building it
    once after a bulk load is much faster than growing it row by row.
    """
    table = sql.Identifier(space.table)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (model_name text NOT NULL, dims int NOT NULL, "
                "table_name text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (model_name, dims))"
            ).format(sql.Identifier(REGISTRY))
        )
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} (model_name, dims, table_name) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING"
            ).format(sql.Identifier(REGISTRY)),
            (space.model_name, space.dims, space.table),
        )
        await conn.execute(_create_table(space))
        await _allow_unembedded(conn, space)
        # The unique key's index starts with (tenant, repo, path): it serves the per-path
        # deletes and per-repo counts, so no separate btree on those three columns.
        await conn.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (tsv)").format(
                sql.Identifier(f"{space.table}_tsv"), table
            )
        )
        await _term_counts(conn, space)
        if vector_index:
            await create_vector_index(conn, space)


async def create_vector_index(conn: AsyncConnection[Any], space: EmbeddingSpace) -> None:
    """HNSW over cosine distance, pgvector's defaults m=16, ef_construction=64."""
    await conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = 16, ef_construction = 64)"
        ).format(sql.Identifier(f"{space.table}_hnsw"), sql.Identifier(space.table))
    )


async def _allow_unembedded(conn: AsyncConnection[Any], space: EmbeddingSpace) -> None:
    """Chunks are stored before they are embedded (indexing.py's two passes), so the vector may
    be NULL: tables made when it could not be lose the constraint, and a partial index finds a
    repository's chunks still to embed without reading the embedded ones."""
    table = sql.Identifier(space.table)
    cur = await conn.execute(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attname = 'embedding'",
        (space.table,),
    )
    row = await cur.fetchone()
    if row and row[0]:  # checked first: an ALTER locks the whole table, at every start
        await conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN embedding DROP NOT NULL").format(table)
        )
    await conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {} (tenant, repo, id) WHERE embedding IS NULL"
        ).format(sql.Identifier(f"{space.table}_unembedded"), table)
    )


def _create_table(space: EmbeddingSpace) -> sql.Composed:
    # Path words weigh a little more than the content's (C = 0.2 against D = 0.1 in ts_rank_cd):
    # a question about proxies leans towards proxy.py. Not more: with A (1.0) every chunk of a
    # file named like a common word ("_urls.py") outranked the one chunk that answered
    # (bench.retrieval_quality).
    tsv = (
        f"setweight(to_tsvector('{TS_CONFIG}', {split_sql('path')}), 'C') || "
        f"setweight(to_tsvector('{TS_CONFIG}', {split_sql('content')}), 'D')"
    )
    return sql.SQL(
        """
        CREATE TABLE IF NOT EXISTS {table} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant text NOT NULL,
            repo text NOT NULL,
            path text NOT NULL,
            blob_sha text NOT NULL,
            chunk_no int NOT NULL,
            start_line int NOT NULL,
            end_line int NOT NULL,
            language text NOT NULL,
            token_count int NOT NULL,
            content text NOT NULL,
            embedding vector({dims}),  -- NULL until the run's second pass embeds it
            tsv tsvector GENERATED ALWAYS AS ({tsv}) STORED,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT {unique} UNIQUE (tenant, repo, path, blob_sha, chunk_no)
        )
        """
    ).format(
        table=sql.Identifier(space.table),
        dims=sql.Literal(space.dims),
        tsv=sql.SQL(tsv),  # built from this module's constants, never from input
        unique=sql.Identifier(f"{space.table}_key"),
    )


# Full-text rarity needs each query term's document frequency in the tenant's repository;
# counting matching rows at query time cost most of a hybrid search at 100,000 chunks (a GIN
# bitmap plus up to 1,000 heap visits per term). The counts are kept instead, per
# (tenant, repo, lexeme), in two parts:
# - the write path only appends: statement triggers copy each added (+1) or removed (-1) chunk's
#   tsvector into the deltas table, in the transaction that changes the chunks, so a rolled-back
#   or crashed write leaves nothing behind. Grouping and upserting every lexeme of every batch
#   there cost a third of a batch upsert's server time (the HNSW index aside), and common
#   lexemes were rewritten once per batch;
# - ``fold_term_counts`` moves a repository's deltas into the counts in one transaction (DELETE
#   ... RETURNING, so two folds never count a delta twice): the indexer folds once per run.
# A search adds the deltas not folded yet to the counts it reads (text_search), so what it sees
# is exact at any moment; the deltas only cost it time while they are many.
_TERMS_DDL = """
CREATE TABLE IF NOT EXISTS {terms} (
    tenant text NOT NULL,
    repo text NOT NULL,
    lexeme text NOT NULL,
    df int NOT NULL,
    PRIMARY KEY (tenant, repo, lexeme)
)
"""
_DELTAS_DDL = """
CREATE TABLE IF NOT EXISTS {deltas} (
    tenant text NOT NULL,
    repo text NOT NULL,
    sign smallint NOT NULL,
    tsv tsvector NOT NULL
)
"""
_TERMS_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {deltas} (tenant, repo, sign, tsv) SELECT tenant, repo, 1, tsv FROM added;
    ELSIF TG_OP = 'UPDATE' THEN
        -- an upsert of the same text (the same batch again) changes no count
        INSERT INTO {deltas} (tenant, repo, sign, tsv)
        SELECT x.tenant, x.repo, x.sign, x.tsv FROM added a JOIN removed r ON r.id = a.id,
            LATERAL (VALUES (a.tenant, a.repo, 1, a.tsv), (r.tenant, r.repo, -1, r.tsv))
                AS x(tenant, repo, sign, tsv)
        WHERE a.tsv IS DISTINCT FROM r.tsv;
    ELSE  -- DELETE
        INSERT INTO {deltas} (tenant, repo, sign, tsv) SELECT tenant, repo, -1, tsv FROM removed;
    END IF;
    RETURN NULL;
END
$body$
"""
_FOLD = """
WITH moved AS (
    DELETE FROM {deltas} WHERE tenant = %(tenant)s AND repo = %(repo)s RETURNING sign, tsv
)
INSERT INTO {terms} AS t (tenant, repo, lexeme, df)
SELECT %(tenant)s, %(repo)s, l.lexeme, sum(m.sign) FROM moved m, unnest(m.tsv) l
GROUP BY l.lexeme HAVING sum(m.sign) <> 0 ORDER BY l.lexeme
ON CONFLICT (tenant, repo, lexeme) DO UPDATE SET df = t.df + EXCLUDED.df
"""
# a lexeme no chunk holds any more goes: a repository's churn leaves no trail of zeros
_DROP_ZEROS = "DELETE FROM {terms} WHERE tenant = %(tenant)s AND repo = %(repo)s AND df <= 0"
_TERMS_TRIGGERS = {
    "ins": "AFTER INSERT ON {table} REFERENCING NEW TABLE AS added",
    "upd": "AFTER UPDATE ON {table} REFERENCING OLD TABLE AS removed NEW TABLE AS added",
    "del": "AFTER DELETE ON {table} REFERENCING OLD TABLE AS removed",
}


async def fold_term_counts(
    conn: AsyncConnection[Any], space: EmbeddingSpace, tenant: str, repo: str
) -> None:
    """Move the repository's deltas into its counts, in one transaction of its own."""
    parts = {
        "terms": sql.Identifier(space.terms_table),
        "deltas": sql.Identifier(space.term_deltas_table),
    }
    params = {"tenant": tenant, "repo": repo}
    async with conn.transaction():
        await conn.execute(sql.SQL(_FOLD).format(**parts), params)
        await conn.execute(sql.SQL(_DROP_ZEROS).format(**parts), params)


async def vacuum_term_deltas(conn: AsyncConnection[Any], space: EmbeddingSpace) -> None:
    """VACUUM ANALYZE the deltas table, on an autocommit connection (outside any transaction).

    A fold leaves its deltas as dead rows, and a search reads the deltas per query term: until
    autovacuum came, the planner still counted the folded rows and scanned all of them (100,000
    folded deltas made a full-text search ~110 ms instead of ~10). Cheap while deltas are few.
    """
    await conn.execute(
        sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(space.term_deltas_table))
    )


async def _term_counts(conn: AsyncConnection[Any], space: EmbeddingSpace) -> None:
    """The counts table, its triggers, and (when the table is new) the counts of what the
    chunk table already holds. Runs under ensure_space's lock, in its transaction."""
    table, terms = sql.Identifier(space.table), sql.Identifier(space.terms_table)
    deltas = sql.Identifier(space.term_deltas_table)
    cur = await conn.execute("SELECT to_regclass(%s) IS NULL", (space.terms_table,))
    row = await cur.fetchone()
    await conn.execute(sql.SQL(_TERMS_DDL).format(terms=terms))
    await conn.execute(sql.SQL(_DELTAS_DDL).format(deltas=deltas))
    await conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tenant, repo)").format(
            sql.Identifier(f"{space.term_deltas_table}_repo"), deltas
        )
    )
    function = sql.Identifier(f"{space.terms_table}_count")
    # Replaced every time: a space made when the triggers counted in place appends from now on
    # (its counts stay right: they are what the old triggers left, the deltas what follows).
    await conn.execute(sql.SQL(_TERMS_FUNCTION).format(function=function, deltas=deltas))
    cur = await conn.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass", (space.table,)
    )
    present = {name for (name,) in await cur.fetchall()}
    for suffix, when in _TERMS_TRIGGERS.items():
        name = f"{space.terms_table}_{suffix}"
        if name in present:  # not re-created: that would lock the chunk table at every start
            continue
        await conn.execute(
            sql.SQL(
                "CREATE TRIGGER {} " + when + " FOR EACH STATEMENT EXECUTE FUNCTION {}()"
            ).format(sql.Identifier(name), function, table=table)
        )
    if row and row[0]:  # a table older than the counts: count once what it holds
        await conn.execute(
            sql.SQL(
                "INSERT INTO {} (tenant, repo, lexeme, df) SELECT c.tenant, c.repo, l.lexeme, "
                "count(*) FROM {} c, unnest(c.tsv) l GROUP BY 1, 2, 3"
            ).format(terms, table)
        )
