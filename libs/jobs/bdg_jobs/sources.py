"""Which repository a job may name: the rules live in bdg_contracts.sources, where sandboxd
(which does not depend on this package) reads them too; re-exported for the services here."""

from bdg_contracts.sources import (
    CLONE_SCHEMES,
    DEMO_REPOS,
    MAX_REPO_CHARS,
    Grant,
    SourceError,
    SourceGrantsError,
    SourceRules,
    absolute,
    default_grants_file,
    load_grants,
    load_rules,
    load_tenant_grants,
    looks_like_url,
    names_a_path,
    state_dirs,
    url_problem,
    write_grants,
)

__all__ = [
    "CLONE_SCHEMES",
    "DEMO_REPOS",
    "MAX_REPO_CHARS",
    "Grant",
    "SourceError",
    "SourceGrantsError",
    "SourceRules",
    "absolute",
    "default_grants_file",
    "load_grants",
    "load_rules",
    "load_tenant_grants",
    "looks_like_url",
    "names_a_path",
    "state_dirs",
    "url_problem",
    "write_grants",
]
