"""Which repository a job or an index registration may name: who may read what on the host.

A ``repo`` is a clone URL (https, http, ssh, git, or ``user@host:path``) or a local git work
tree's top under a root the operator granted to the caller's tenant (``BDG_SOURCE_GRANTS``, a
JSON file ``{"tenant": ["/root", ...]}``; ``bdg up`` writes one granting its roots to the local
tenant). A clone URL's host must be public: an internal address (loopback, private, link-local,
in any spelling, or a name resolving to one) only when the operator allows it (clone_hosts.py,
``BDG_CLONE_ALLOW_HOSTS``); the host as written is judged here, its addresses by clone_dns.py.
The state dir (``BDG_HOME``: the database, the bus, the index, the sandbox) is never a
source, whatever the roots, except its ``demo-repos`` folder, where the demo commits its example.
Symlinks are followed before any check, so a link cannot lead out of a root or into the state.

The gateway and the CLI check here when a job or a registration is created (nothing is written
when it fails); sandboxd and the indexer check again where the source is read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bdg_contracts.clone_hosts import CloneHosts, clone_target
from bdg_contracts.ids import TENANT_PATTERN

MAX_REPO_CHARS = 2_000
DEMO_REPOS = "demo-repos"  # the one folder of BDG_HOME that may hold sources
CLONE_SCHEMES = ("https", "http", "ssh", "git", "git+ssh", "ssh+git")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://([^/?#]*)(.*)$", re.IGNORECASE)
_SCP = re.compile(r"^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9.-]+):(?!//)(.+)$")  # git@host:owner/repo
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACE = re.compile(r"\s")


class SourceError(ValueError):
    """The repository is not one the caller may name; ``rule`` says which rule it breaks."""

    def __init__(self, rule: str, message: str, field: str = "repo") -> None:
        super().__init__(f"{field}: {message}")
        self.rule, self.message, self.field = rule, message, field


class SourceGrantsError(ValueError):
    """The grants file cannot be read or is invalid: the message says where."""


def _scp(repo: str) -> re.Match[str] | None:
    """``[user@]host:path`` as git reads it; a lone letter before the colon is a Windows drive."""
    match = _SCP.match(repo)
    return match if match is not None and (match[1] or len(match[2]) > 1) else None


def looks_like_url(repo: str) -> bool:
    """A ``scheme://`` or ``user@host:path`` address rather than a local path."""
    return bool(_SCHEME.match(repo) or (not repo.startswith("/") and _scp(repo)))


def names_a_path(repo: str) -> bool:
    """Whether judging ``repo`` reads the disk (a local path), so callers may use a thread."""
    return bool(repo) and not looks_like_url(repo) and not repo.startswith("-")


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a clone URL that may be stored and handed to git, or None."""
    if url.startswith("-"):
        return "a repository cannot start with '-' (git would read it as an option)"
    if _SPACE.search(url) or _CONTROL.search(url):
        return "a clone URL cannot contain whitespace or control characters"
    match = _SCHEME.match(url)
    if match is None:
        scp = _scp(url)
        if scp is None:
            return "not a clone URL (https://, ssh://, git:// or user@host:path)"
        if scp[3].startswith(":"):  # git's <transport>::<address> (ext:: runs a command)
            return "transport::address forms are refused"
        if any(part.startswith("-") for part in scp.groups("")):
            return "no part of a clone URL can start with '-' (git would read it as an option)"
        return None
    scheme, authority, rest = match[1].lower(), match[2], match[3]
    if scheme == "file":
        return "file:// URLs are refused: name a local repository by its path"
    if scheme not in CLONE_SCHEMES:
        return f"the {scheme}:// scheme is not a clone URL ({', '.join(CLONE_SCHEMES)})"
    host = authority.rsplit("@", 1)[-1]
    if not host or host.startswith("-"):
        return "the URL names no host"
    if "@" in authority and ":" in authority.rsplit("@", 1)[0]:
        return "the URL carries a password; it would be stored in the event log"
    if rest.startswith("/-"):
        return "the URL's path cannot start with '-'"
    return None


def absolute(repo: str, cwd: Path) -> str:
    """What the CLI sends: a URL as given, a path made absolute against the caller's ``cwd``
    (not resolved: the server resolves it and judges what it finds). An option-looking value
    is sent as it is, to be refused by name."""
    if not names_a_path(repo):
        return repo
    return str(cwd / Path(repo).expanduser())  # no lexical '..' folding: links decide


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


@dataclass(frozen=True)
class SourceRules:
    """The roots granted to each tenant, the state dirs no tenant may read (all resolved), and
    the internal hosts clone URLs may reach all the same."""

    grants: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    state_dirs: tuple[Path, ...] = ()
    state_exceptions: tuple[Path, ...] = ()
    clone_hosts: CloneHosts = field(default_factory=CloneHosts)
    tenant_clone_hosts: Mapping[str, CloneHosts] = field(default_factory=dict)

    def roots_of(self, tenant: str) -> tuple[Path, ...]:
        return self.grants.get(tenant, ())

    def clone_hosts_for(self, tenant: str) -> CloneHosts:
        """The internal hosts ``tenant``'s clone URLs may reach: everyone's and its own."""
        own = self.tenant_clone_hosts.get(tenant)
        return self.clone_hosts if own is None else self.clone_hosts.merged(own)

    def in_state(self, real: Path) -> bool:
        return _inside(real, self.state_dirs) and not _inside(real, self.state_exceptions)

    def granted(self, tenant: str, real: Path) -> bool:
        """Whether resolved path ``real`` lies under a root granted to ``tenant``."""
        return _inside(real, self.roots_of(tenant))

    def check(self, tenant: str, repo: str) -> str:
        """``repo`` as it is stored: "" (no repository), the URL, or the resolved path.
        SourceError names the broken rule."""
        if len(repo) > MAX_REPO_CHARS:
            raise SourceError("too_long", f"at most {MAX_REPO_CHARS} characters")
        if not repo:
            return repo
        if "\0" in repo or _CONTROL.search(repo):
            raise SourceError("control", "a repository cannot contain control characters")
        if not names_a_path(repo):
            problem = url_problem(repo)
            if problem is not None:
                raise SourceError("clone_url", problem)
            target = clone_target(repo)
            allowed = self.clone_hosts_for(tenant)
            problem = None if target is None else allowed.literal_problem(target)
            if problem is not None:
                raise SourceError("internal_host", problem)
            return repo
        return str(self.local(tenant, repo))

    def local(self, tenant: str, repo: str) -> Path:
        """The resolved top of the git work tree ``repo`` names, if the tenant may read it."""
        if not Path(repo).is_absolute():
            raise SourceError(
                "absolute", f"a local repository must be an absolute path, not {repo!r}"
            )
        roots = self.roots_of(tenant)
        if not roots:
            raise SourceError(
                "not_granted",
                "local repositories are not granted to this tenant (BDG_SOURCE_GRANTS); "
                "use a clone URL",
            )
        real = Path(os.path.realpath(repo))
        # Grants and the state are judged before the disk is: nothing outside leaks by its errors.
        if not _inside(real, roots):
            raise SourceError("not_granted", f"{repo} is outside the roots granted to this tenant")
        if self.in_state(real):
            raise SourceError("state_dir", f"{repo} is in the state dir (BDG_HOME): never a source")
        if not real.is_dir():
            raise SourceError("missing", f"{repo}: no such directory")
        self._git_dir(real, roots, repo)
        return real

    def _git_dir(self, top: Path, roots: Sequence[Path], repo: str) -> None:
        """``top`` holds its own ``.git`` (a directory, or a file naming one, as worktrees and
        submodules have) that also lies in the tenant's roots and outside the state."""
        dot_git = top / ".git"
        if not os.path.lexists(dot_git):
            raise SourceError(
                "not_top", f"{repo} is not the top of a git work tree (it has no .git)"
            )
        target = Path(os.path.realpath(dot_git))
        if target.is_file():
            text = target.read_text(errors="replace").strip()
            if not text.startswith("gitdir:"):
                raise SourceError(
                    "not_top", f"{repo}/.git is neither a directory nor a gitdir link"
                )
            target = Path(os.path.realpath(top / text.removeprefix("gitdir:").strip()))
        found = [target]
        common = target / "commondir"
        if common.is_file():  # a worktree reads its objects from the main repository's
            text = common.read_text(errors="replace").strip()
            found.append(Path(os.path.realpath(target / text)))
        for git_dir in found:
            if not git_dir.is_dir() or not _inside(git_dir, roots) or self.in_state(git_dir):
                raise SourceError(
                    "not_granted",
                    f"{repo}: its git directory is outside the roots granted to this tenant "
                    "or in the state dir",
                )


def state_dirs(home: Path, *more: Path | None) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """(the state dirs, the exception) of an installation whose state is under ``home``."""
    real = Path(os.path.realpath(home.expanduser()))
    extra = tuple(Path(os.path.realpath(p.expanduser())) for p in more if p is not None)
    return (real, *extra), (real / DEMO_REPOS,)


def default_grants_file(home: Path) -> Path:
    """Where ``bdg up`` writes its grants when ``BDG_SOURCE_GRANTS`` is not set."""
    return home.expanduser() / "source-grants.json"


@dataclass(frozen=True)
class Grant:
    """What the operator grants one tenant: local roots, and internal hosts to clone from."""

    roots: tuple[Path, ...] = ()
    clone_hosts: CloneHosts = field(default_factory=CloneHosts)


def load_tenant_grants(path: Path | None) -> dict[str, Grant]:
    """The grants in ``path``: per tenant a list of roots, or ``{"roots": [...],
    "clone_hosts": ["git.lan", "10.1.0.0/16"]}``; none when no file is there."""
    if path is None or not path.exists():
        return {}
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise SourceGrantsError(f"cannot read source grants {path}: {error}") from error
    if not isinstance(raw, dict):
        raise SourceGrantsError(f"source grants {path}: an object of tenant -> roots is needed")
    grants: dict[str, Grant] = {}
    for tenant, entry in raw.items():
        where = f"source grants {path}: {tenant}"
        if not TENANT_PATTERN.fullmatch(tenant):
            raise SourceGrantsError(f"source grants {path}: bad tenant id {tenant!r}")
        roots, hosts = (entry, []) if isinstance(entry, list) else _entry(entry, where)
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise SourceGrantsError(f"{where}: a list of paths is needed")
        if not all(Path(r).is_absolute() for r in roots):
            raise SourceGrantsError(f"{where}: roots must be absolute")
        try:
            allowed = CloneHosts.parse(",".join(hosts), f"{where}: clone_hosts")
        except ValueError as error:
            raise SourceGrantsError(str(error)) from error
        grants[tenant] = Grant(tuple(Path(os.path.realpath(r)) for r in roots), allowed)
    return grants


def _entry(entry: object, where: str) -> tuple[object, list[str]]:
    """(roots, clone hosts) of a tenant's entry in its object form."""
    if not isinstance(entry, dict) or not set(entry) <= {"roots", "clone_hosts"}:
        raise SourceGrantsError(f"{where}: a list of paths (or {{roots, clone_hosts}}) is needed")
    hosts = entry.get("clone_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise SourceGrantsError(f"{where}: clone_hosts must be a list of hosts and networks")
    return entry.get("roots", []), hosts


def load_grants(path: Path | None) -> dict[str, tuple[Path, ...]]:
    """The roots granted in ``path`` (``{"tenant": ["/root", ...]}``); none without a file."""
    return {tenant: grant.roots for tenant, grant in load_tenant_grants(path).items()}


def write_grants(path: Path, grants: Mapping[str, Sequence[Path]]) -> None:
    """Write ``grants`` (resolved) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {t: [os.path.realpath(r) for r in roots] for t, roots in grants.items()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    tmp.replace(path)


def load_rules(
    home: Path,
    grants_file: Path | None,
    more_state: Sequence[Path | None] = (),
    clone_allow: str = "",
) -> SourceRules:
    """The rules of an installation: grants from ``grants_file`` (unset: ``bdg up``'s file
    under ``home``, if any), the state dirs ``home`` and ``more_state``, the internal hosts
    ``clone_allow`` (BDG_CLONE_ALLOW_HOSTS) allows."""
    grants = load_tenant_grants(grants_file or default_grants_file(home))
    states, exceptions = state_dirs(home, *more_state)
    try:
        hosts = CloneHosts.parse(clone_allow)
    except ValueError as error:
        raise SourceGrantsError(str(error)) from error
    roots = {tenant: grant.roots for tenant, grant in grants.items()}
    per_tenant = {tenant: grant.clone_hosts for tenant, grant in grants.items()}
    return SourceRules(roots, states, exceptions, hosts, per_tenant)
