"""Who may name which repository (bdg_jobs.sources): clone URLs, granted work trees, the state."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bdg_jobs.sources import (
    SourceError,
    SourceGrantsError,
    SourceRules,
    absolute,
    load_grants,
    load_rules,
    looks_like_url,
    url_problem,
    write_grants,
)

pytestmark = pytest.mark.timeout(30)


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=30)
    return path


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/app.git",
        "http://git.example.com:3000/acme/app",
        "ssh://git@git.example.com:2222/acme/app.git",
        "git://git.example.com/app.git",
        "git@github.com:acme/app.git",
        "github.com:acme/app",
    ],
)
def test_clone_urls_of_every_kind_pass(url: str) -> None:
    assert url_problem(url) is None
    assert SourceRules().check("acme", url) == url


@pytest.mark.parametrize(
    ("repo", "rule", "words"),
    [
        ("file:///srv/git/app", "clone_url", "file:// URLs are refused"),
        ("FILE:///srv/git/app", "clone_url", "file:// URLs are refused"),
        ("--upload-pack=touch /tmp/pwned", "clone_url", "cannot start with '-'"),
        ("-oProxyCommand=x", "clone_url", "cannot start with '-'"),
        ("ssh://-oProxyCommand=touch%20x/repo", "clone_url", "names no host"),
        ("https://host/-x", "clone_url", "path cannot start with '-'"),
        ("git@host:-x", "clone_url", "start with '-'"),
        ("ext::sh -c touch% /tmp/pwned", "clone_url", "whitespace"),
        ("ext::sh", "clone_url", "transport::address"),
        ("https://git.example.com/a b", "clone_url", "whitespace"),
        ("https://git.example.com/a\tb", "control", "control characters"),
        ("https://git.example.com/a\x00b", "control", "control characters"),
        ("ftp://host/app.git", "clone_url", "the ftp:// scheme"),
        ("https:///app.git", "clone_url", "names no host"),
        ("https://bob:hunter2@git.example.com/app.git", "clone_url", "carries a password"),
        ("https://git.example.com/" + "a" * 2000, "too_long", "at most 2000"),
        ("./app", "absolute", "absolute path"),
        ("app", "absolute", "absolute path"),
        ("C:\\work\\app", "absolute", "absolute path"),
        ("/srv/app", "not_granted", "not granted to this tenant"),
    ],
)
def test_what_is_refused_names_its_rule(repo: str, rule: str, words: str) -> None:
    with pytest.raises(SourceError) as refused:
        SourceRules().check("acme", repo)
    assert refused.value.rule == rule
    assert words in str(refused.value)
    assert str(refused.value).startswith("repo: ")


def test_no_repository_is_allowed() -> None:
    assert SourceRules().check("acme", "") == ""


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    """Two tenants' roots, a state dir holding git repositories, and a link out of a root."""
    home = tmp_path / "home"
    places = {
        "home": home,
        "a": tmp_path / "a",
        "b": tmp_path / "b",
        "app": git_repo(tmp_path / "a" / "app"),
        "theirs": git_repo(tmp_path / "b" / "theirs"),
        "pg": git_repo(home / "pg"),
        "index": git_repo(home / "index" / "acme" / "0001"),
        "demo": git_repo(home / "demo-repos" / "example"),
    }
    (places["app"] / "src").mkdir()
    (places["a"] / "plain").mkdir()
    (places["a"] / "link").symlink_to(places["theirs"])
    (places["a"] / "home").symlink_to(home)
    return places


def rules_of(place: dict[str, Path]) -> SourceRules:
    # The state dir is listed as a root on purpose: it is refused all the same.
    home = place["home"].resolve()
    return SourceRules(
        {"acme": (place["a"].resolve(), home), "globex": (place["b"].resolve(),)},
        (home,),
        (home / "demo-repos",),
    )


def test_a_granted_work_tree_top_is_stored_resolved(place: dict[str, Path]) -> None:
    rules = rules_of(place)
    assert rules.check("acme", str(place["app"])) == str(place["app"].resolve())
    spelled = f"{place['a']}/../a/app/"
    assert rules.check("acme", spelled) == str(place["app"].resolve())
    assert rules.check("acme", str(place["demo"])) == str(place["demo"].resolve())


@pytest.mark.parametrize(
    ("name", "tenant", "rule"),
    [
        ("pg", "acme", "state_dir"),
        ("index", "acme", "state_dir"),
        ("home", "acme", "state_dir"),
        ("link-home-pg", "acme", "state_dir"),
        ("src", "acme", "not_top"),
        ("plain", "acme", "not_top"),
        ("missing", "acme", "missing"),
        ("theirs", "acme", "not_granted"),
        ("link", "acme", "not_granted"),
        ("app", "globex", "not_granted"),
        ("app", "initech", "not_granted"),
    ],
)
def test_local_paths_outside_the_rules_are_refused(
    place: dict[str, Path], name: str, tenant: str, rule: str
) -> None:
    given = {
        "src": place["app"] / "src",
        "plain": place["a"] / "plain",
        "missing": place["a"] / "missing",
        "link": place["a"] / "link",
        "link-home-pg": place["a"] / "home" / "pg",
    }.get(name) or place[name]
    with pytest.raises(SourceError) as refused:
        rules_of(place).check(tenant, str(given))
    assert refused.value.rule == rule, refused.value


def test_a_git_file_pointing_out_of_the_roots_is_refused(place: dict[str, Path]) -> None:
    tree = place["a"] / "worktree"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {place['theirs'] / '.git'}\n")
    with pytest.raises(SourceError) as refused:
        rules_of(place).check("acme", str(tree))
    assert refused.value.rule == "not_granted"
    (tree / ".git").write_text(f"gitdir: {place['app'] / '.git'}\n")
    assert rules_of(place).check("acme", str(tree)) == str(tree.resolve())
    # A worktree's own git dir in the roots, its objects (commondir) in another tenant's.
    own = place["app"] / ".git" / "worktrees" / "w"
    own.mkdir(parents=True)
    (own / "commondir").write_text(f"{place['theirs'] / '.git'}\n")
    (tree / ".git").write_text(f"gitdir: {own}\n")
    with pytest.raises(SourceError, match="git directory is outside"):
        rules_of(place).check("acme", str(tree))


def test_grants_load_from_a_file_and_bdg_up_writes_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert load_rules(home, None).grants == {}
    write_grants(home / "source-grants.json", {"local": [tmp_path / "x" / ".." / "src"]})
    rules = load_rules(home, None, (tmp_path / "elsewhere",))
    assert rules.grants == {"local": ((tmp_path / "src").resolve(),)}
    assert rules.state_dirs == (home.resolve(), (tmp_path / "elsewhere").resolve())
    assert rules.state_exceptions == (home.resolve() / "demo-repos",)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[]", "an object"),
        ('{"a.b": ["/x"]}', "bad tenant id"),
        ('{"acme": "/x"}', "a list of paths"),
        ('{"acme": ["x"]}', "must be absolute"),
        ("{", "cannot read"),
    ],
)
def test_a_bad_grants_file_is_named(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "grants.json"
    path.write_text(body)
    with pytest.raises(SourceGrantsError, match=words):
        load_grants(path)


def test_the_cli_sends_absolute_paths_and_urls_as_given(tmp_path: Path) -> None:
    assert absolute("./my-app", tmp_path) == str(tmp_path / "my-app")
    assert absolute("../x/./y", tmp_path / "w") == f"{tmp_path}/w/../x/y"
    assert absolute("/abs", tmp_path) == "/abs"
    assert absolute("~/app", tmp_path) == os.path.expanduser("~/app")
    for url in ["https://h/x", "git@h:x", "file:///x", "", "--upload-pack=x"]:
        assert absolute(url, tmp_path) == url
    assert looks_like_url("git@host:x")
    assert not looks_like_url("/a:b")


def test_grants_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    write_grants(path, {"local": [tmp_path]})
    assert json.loads(path.read_text()) == {"local": [str(tmp_path.resolve())]}
