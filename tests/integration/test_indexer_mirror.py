"""The indexer's git working copies, against real git repositories made in tmp_path (and a real
git server over HTTP on loopback, for the internal-host rule)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bdg_contracts.clone_dns import addresses_of
from bdg_contracts.clone_hosts import CloneHosts, is_public
from bdg_indexer.mirror import Mirror, MirrorError
from bdg_jobs.sources import SourceRules
from tests.git_http import GitServer, bare_copy, serving
from tests.git_repos import commit, git, make_repo

pytestmark = pytest.mark.timeout(60)


def mirror(tmp_path: Path, source: str, timeout: float = 30) -> Mirror:
    return Mirror(tmp_path / "index", "acme", uuid.uuid4(), source, timeout)


async def test_clone_fetch_and_check_out_any_ref(tmp_path: Path) -> None:
    source = tmp_path / "src"
    first = make_repo(source, {"a.py": "a = 1\n"})
    git(source, "tag", "v1")
    copy = mirror(tmp_path, f"file://{source}")
    await copy.ensure()
    assert await copy.default_branch() == "refs/heads/main"
    assert await copy.fetch_ref("HEAD") == first
    second = commit(source, {"a.py": "a = 2\n", "b.py": "b = 1\n"}, "second")
    assert await copy.fetch_ref("main") == second
    assert await copy.fetch_ref("refs/tags/v1") == first
    assert await copy.is_ancestor(first, second)
    assert not await copy.is_ancestor(second, first)
    await copy.checkout(first)
    (copy.path / "stray.py").write_text("not in any commit\n")
    assert sorted(p.name for p in copy.path.iterdir() if p.name != ".git") == ["a.py", "stray.py"]
    await copy.checkout(second)
    assert sorted(p.name for p in copy.path.iterdir() if p.name != ".git") == ["a.py", "b.py"]
    assert (copy.path / "a.py").read_text() == "a = 2\n"
    await copy.ensure()  # cloned already: nothing happens


async def test_a_commit_of_another_branch_is_fetched_when_asked_for(tmp_path: Path) -> None:
    source = tmp_path / "src"
    make_repo(source, {"a.py": "a = 1\n"})
    copy = mirror(tmp_path, str(source))  # a local path, as the CLI registers it
    await copy.ensure()
    git(source, "checkout", "-q", "-b", "feature")
    feature = commit(source, {"f.py": "f = 1\n"}, "feature")
    assert not await copy.has_commit(feature)
    await copy.ensure_commit(feature)
    assert await copy.has_commit(feature)
    with pytest.raises(MirrorError, match=f"commit {'0' * 40} is not in"):
        await copy.ensure_commit("0" * 40)


async def test_a_bare_repository_registered_without_its_git_suffix_is_found(
    tmp_path: Path,
) -> None:
    source = tmp_path / "src"
    first = make_repo(source, {"a.py": "a = 1\n"})
    git(tmp_path, "clone", "-q", "--bare", str(source), str(tmp_path / "shared.git"))
    copy = mirror(tmp_path, str(tmp_path / "shared"))  # what normalize_repo leaves of it
    await copy.ensure()
    assert await copy.fetch_ref("HEAD") == first


async def test_a_missing_repository_fails_for_good(tmp_path: Path) -> None:
    copy = mirror(tmp_path, f"file://{tmp_path}/nothing-here")
    with pytest.raises(MirrorError, match="does not appear to be a git repository") as failed:
        await copy.ensure()
    assert not failed.value.transient
    assert list((tmp_path / "index" / "acme").iterdir()) == []  # no half-made clone left
    source = tmp_path / "src"
    make_repo(source, {"a.py": "a = 1\n"})
    copy = mirror(tmp_path, str(source))
    await copy.ensure()
    with pytest.raises(MirrorError, match="couldn't find remote ref refs/heads/nope"):
        await copy.fetch_ref("refs/heads/nope")


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says anything."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def test_a_git_that_hangs_is_stopped_and_counted_transient(
    tmp_path: Path, silent_server: int
) -> None:
    copy = mirror(tmp_path, f"git://127.0.0.1:{silent_server}/repo", timeout=1)
    with pytest.raises(MirrorError, match="timed out after 1s") as failed:
        await copy.ensure()
    assert failed.value.transient


async def test_mirrors_are_per_tenant_and_judge_their_source_with_the_rules(
    tmp_path: Path,
) -> None:
    """With the service's rules, the mirror reads only what the tenant may name: another
    tenant's mirror, a folder below a top, or an ungranted path fail for good before git runs."""
    index = tmp_path / "index"
    rules = SourceRules(
        {"acme": (tmp_path,), "globex": (tmp_path,)}, (index,), ()
    )  # both tenants granted the whole dir, the index dir in it all the same
    source = tmp_path / "src"
    make_repo(source, {"a.py": "a = 1\n"})
    repo_id = uuid.uuid4()
    (index / str(repo_id) / ".git").mkdir(parents=True)  # its clone in the old layout
    ours = Mirror(index, "acme", repo_id, str(source), 30, rules)
    await ours.ensure()
    assert ours.path == index / "acme" / str(repo_id)
    assert (ours.path / ".git").is_dir()
    assert not (index / str(repo_id)).exists()
    for tenant, given, words in [
        ("globex", str(ours.path), "in the state dir"),
        ("acme", str(source / "sub"), "no such directory"),
        ("initech", str(source), "not granted to this tenant"),
        ("acme", f"file://{source}", "file:// URLs are refused"),
    ]:
        theirs = Mirror(index, tenant, uuid.uuid4(), given, 30, rules)
        with pytest.raises(MirrorError, match=words) as refused:
            await theirs.ensure()
        assert not refused.value.transient
        assert not theirs.path.exists()
    with pytest.raises(ValueError, match="tenant id"):
        Mirror(index, "../acme", uuid.uuid4(), str(source), 30, rules)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitServer]:
    """A real git server over HTTP on loopback: an internal host."""
    make_repo(tmp_path / "served", {"a.py": "a = 1\n"})
    (tmp_path / "www").mkdir()
    bare_copy(tmp_path / "served", tmp_path / "www")
    with serving(tmp_path / "www") as running:
        yield running


def rules_mirror(tmp_path: Path, source: str, allow: str = "") -> Mirror:
    rules = SourceRules(clone_hosts=CloneHosts.parse(allow))
    return Mirror(tmp_path / "index", "acme", uuid.uuid4(), source, 30, rules)


async def test_internal_hosts_are_refused_before_git_connects(
    tmp_path: Path, server: GitServer
) -> None:
    """Judged at every clone and fetch, after a fresh lookup: a name registered while it
    resolved elsewhere is refused once it resolves inside."""
    name = socket.gethostname()
    assert not is_public(addresses_of(name)[0])  # this host's name: internal, by lookup only
    for url in [
        server.url(),
        server.url(host="2130706433"),
        server.url(host="0177.0.0.1"),
        server.url(host="[::ffff:127.0.0.1]"),
        server.url(host="localhost"),
        server.url(host=name),
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/repo.git",
        "http://10.0.0.5/repo.git",
        "git://127.0.0.1:5432/repo",
    ]:
        copy = rules_mirror(tmp_path, url)
        with pytest.raises(MirrorError, match=r"internal address|this machine") as refused:
            await copy.ensure()
        assert not refused.value.transient
        assert not copy.path.exists()
    assert server.hits == []
    # Cloned while allowed, the allowance then withdrawn: the next fetch is refused.
    allowed = rules_mirror(tmp_path, server.url(host=name), allow="127.0.0.0/8")
    await allowed.ensure()
    allowed.rules = SourceRules()  # the service's rules after a restart without the allowance
    with pytest.raises(MirrorError, match="internal address"):
        await allowed.fetch_ref("HEAD")
    with pytest.raises(MirrorError, match="internal address"):
        await allowed.ensure_commit("0" * 40)


async def test_an_allowed_lan_server_is_cloned_and_fetched(
    tmp_path: Path, server: GitServer
) -> None:
    for n, host in enumerate(["127.0.0.1", "localhost", socket.gethostname()]):
        copy = rules_mirror(tmp_path / str(n), server.url(host=host), allow="127.0.0.0/8")
        await copy.ensure()
        commit_id = await copy.fetch_ref("HEAD")
        await copy.checkout(commit_id)
        assert (copy.path / "a.py").read_text() == "a = 1\n"


async def test_redirects_are_not_followed(tmp_path: Path, server: GitServer) -> None:
    with serving(None, host="127.0.0.2", redirect=server.url("").rstrip("/")) as hop:
        copy = rules_mirror(tmp_path, hop.url(), allow="127.0.0.0/8")
        with pytest.raises(MirrorError, match="git clone"):
            await copy.ensure()
        assert hop.hits
    assert server.hits == []


async def test_the_grants_file_allows_a_lan_server_to_one_tenant(
    tmp_path: Path, server: GitServer
) -> None:
    rules = SourceRules(tenant_clone_hosts={"acme": CloneHosts.parse("127.0.0.1")})
    ours = Mirror(tmp_path / "index", "acme", uuid.uuid4(), server.url(), 30, rules)
    await ours.ensure()
    seen = len(server.hits)
    theirs = Mirror(tmp_path / "index", "globex", uuid.uuid4(), server.url(), 30, rules)
    with pytest.raises(MirrorError, match="internal address"):
        await theirs.ensure()
    assert len(server.hits) == seen
