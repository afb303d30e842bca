"""Clone URLs to internal hosts (SSRF, issue 11 finding 1): refused in every spelling, unless the
operator allows the host or its network. Lookups are real (``localhost`` is in /etc/hosts)."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from bdg_contracts.clone_dns import (
    NO_REDIRECTS,
    CheckedHost,
    addresses_of,
    check_host,
    check_host_async,
)
from bdg_contracts.clone_hosts import CloneHosts, CloneTarget, clone_target, ip_literal
from bdg_contracts.sources import (
    SourceError,
    SourceGrantsError,
    SourceRules,
    load_rules,
    load_tenant_grants,
)

pytestmark = pytest.mark.timeout(30)

INTERNAL = [
    "http://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/repo.git",
    "http://10.0.0.5/repo.git",
    "https://192.168.1.10/repo.git",
    "http://172.16.0.1/r",
    "http://100.64.0.1/r",  # carrier-grade NAT
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://0177.0.0.1/",  # octal
    "http://0x7f000001/",  # hex
    "http://127.1/",  # short dotted
    "http://0/",  # 0.0.0.0 reaches this host
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",  # mapped 169.254.169.254
    "http://[64:ff9b::a00:5]/",  # NAT64 of 10.0.0.5
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[fe80::1%25eth0]/",  # link-local with a zone
    "http://[fd00::1]/",  # unique local
    "http://224.0.0.1/",  # multicast
    "http://localhost:8080/x.git",
    "http://LocalHost./x.git",
    "http://db.localhost/x.git",
    "git://127.0.0.1:9418/repo",
    "ssh://git@10.0.0.5:2222/repo.git",
    "git@10.0.0.5:acme/app.git",
    "http://user@127.0.0.1/",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_hosts_are_refused_as_written(url: str) -> None:
    with pytest.raises(SourceError, match="BDG_CLONE_ALLOW_HOSTS") as refused:
        SourceRules().check("acme", url)
    assert refused.value.rule == "internal_host"
    assert refused.value.field == "repo"
    with pytest.raises(SourceError, match=r"internal|this machine"):
        check_host(url, CloneHosts())


def test_a_name_that_resolves_to_an_internal_address_is_refused_when_looked_up() -> None:
    # /etc/hosts names this machine "vm" or "runsc" here; "localhost" everywhere. A name the
    # pure rule does not know is refused for what it resolves to.
    with pytest.raises(SourceError, match=r"localhost\.localdomain|this machine|internal"):
        check_host("http://localhost.localdomain/r.git", CloneHosts())
    names = [n for n in ("vm", "runsc", "ip6-localhost") if ip_literal(n) is None]
    resolving = [n for n in names if _resolves(n)]
    assert resolving, "no name for this host in /etc/hosts besides localhost"
    for name in resolving:
        assert SourceRules().check("acme", f"https://{name}/r.git")  # not known as written
        with pytest.raises(SourceError, match=f"{name} \\(.*\\) is an internal address"):
            check_host(f"https://{name}/r.git", CloneHosts())


def _resolves(name: str) -> bool:
    return bool(addresses_of(name))


async def test_the_async_check_looks_up_the_same_way() -> None:
    with pytest.raises(SourceError, match="internal"):
        await check_host_async("http://2130706433/", CloneHosts())
    with pytest.raises(SourceError, match="this machine"):
        await check_host_async("http://localhost/", CloneHosts())


def test_an_unresolvable_host_passes_at_creation_and_fails_at_fetch() -> None:
    url = "https://no-such-host.invalid/acme/app.git"
    assert check_host(url, CloneHosts(), unresolved_ok=True) == CheckedHost(
        CloneTarget("https", "no-such-host.invalid", 443), ()
    )
    with pytest.raises(SourceError, match="resolves to no address") as refused:
        check_host(url, CloneHosts())
    assert refused.value.rule == "unresolved_host"


@pytest.mark.parametrize(
    "url",
    ["https://8.8.8.8/r.git", "http://[2606:4700::1111]/r.git", "git@140.82.112.3:a/b.git"],
)
def test_public_addresses_pass(url: str) -> None:
    assert SourceRules().check("acme", url) == url
    checked = check_host(url, CloneHosts())
    assert checked is not None
    assert checked.addresses
    assert checked.addresses[0].is_global
    assert checked.git_config() == NO_REDIRECTS  # a literal needs no pinning


@pytest.mark.parametrize(
    ("allow", "url"),
    [
        ("localhost", "http://localhost:3000/acme/app"),
        ("LOCALHOST.", "http://localhost/acme/app"),
        ("127.0.0.1", "http://2130706433/acme/app"),
        ("127.0.0.0/8", "git://127.0.0.2:9418/repo"),
        ("10.0.0.0/8, fd00::/8", "http://[fd00::5]/r"),
        ("10.0.0.0/8 fd00::/8", "git@10.0.0.5:a/b.git"),
        ("127.0.0.0/8", "http://[::ffff:127.0.0.1]/r"),
    ],
)
def test_the_operator_allows_named_hosts_and_networks(allow: str, url: str) -> None:
    hosts = CloneHosts.parse(allow)
    assert SourceRules(clone_hosts=hosts).check("acme", url) == url
    assert check_host(url, hosts) is not None


def test_an_allowance_covers_only_what_it_names() -> None:
    hosts = CloneHosts.parse("git.lan,10.1.0.0/16")
    for url in ["http://10.2.0.1/r", "http://127.0.0.1/r", "http://localhost/r"]:
        with pytest.raises(SourceError, match=r"internal|this machine"):
            SourceRules(clone_hosts=hosts).check("acme", url)


def test_a_host_name_pinned_for_http_to_the_addresses_judged() -> None:
    hosts = CloneHosts.parse("127.0.0.0/8, ::1")
    checked = check_host("http://localhost:8080/r.git", hosts)
    assert checked is not None
    config = checked.git_config()
    assert config[:2] == NO_REDIRECTS
    assert config[2] == "-c"
    assert config[3].startswith("http.curloptResolve=localhost:8080:")
    assert "127.0.0.1" in config[3]
    ssh = check_host("ssh://localhost/r.git", hosts)
    assert ssh is not None
    assert ssh.git_config() == NO_REDIRECTS  # curl options are http's


@pytest.mark.parametrize("bad", ["not a host!", "http://x", "10.0.0.0/33/1"])
def test_a_bad_allowance_is_a_clear_configuration_error(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BDG_CLONE_ALLOW_HOSTS"):
        CloneHosts.parse(bad)
    with pytest.raises(SourceGrantsError, match="BDG_CLONE_ALLOW_HOSTS"):
        load_rules(tmp_path, None, (), bad)


def test_load_rules_reads_the_allowance() -> None:
    rules = load_rules(Path("/nonexistent-home"), None, (), "git.lan, 10.0.0.0/8")
    assert rules.clone_hosts.names == frozenset({"git.lan"})
    assert rules.clone_hosts.networks == (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://github.com/a/b", CloneTarget("https", "github.com", 443)),
        ("ssh://git@h.example:2222/a", CloneTarget("ssh", "h.example", 2222)),
        ("git@H.example:a/b", CloneTarget("ssh", "h.example", 22)),
        ("http://[::1]:81/x", CloneTarget("http", "::1", 81)),
        ("/srv/git/app", None),
    ],
)
def test_where_a_clone_url_connects(url: str, target: CloneTarget | None) -> None:
    assert clone_target(url) == target


async def test_a_lookup_slower_than_its_bound_counts_as_no_answer() -> None:
    """Job creation does not wait on a slow resolver (the fetch judges again); a fetch does
    not take silence for consent."""
    url = "https://no-such-host.invalid/acme/app.git"
    passed = await check_host_async(url, CloneHosts(), unresolved_ok=True, timeout=0)
    assert passed == CheckedHost(CloneTarget("https", "no-such-host.invalid", 443), ())
    with pytest.raises(SourceError, match="did not resolve in time") as refused:
        await check_host_async(url, CloneHosts(), timeout=0)
    assert refused.value.rule == "unresolved_host"


def test_the_grants_file_allows_internal_hosts_per_tenant(tmp_path: Path) -> None:
    grants = tmp_path / "grants.json"
    grants.write_text(
        json.dumps(
            {
                "acme": {"roots": [str(tmp_path)], "clone_hosts": ["git.lan", "10.1.0.0/16"]},
                "globex": [str(tmp_path)],
            }
        )
    )
    rules = load_rules(tmp_path / "home", grants, (), "192.168.7.7")
    assert rules.roots_of("acme") == rules.roots_of("globex") == (tmp_path.resolve(),)
    for url in ["http://10.1.2.3/r.git", "http://192.168.7.7/r.git", "git@git.lan:a/b.git"]:
        assert rules.check("acme", url) == url
        assert check_host(url, rules.clone_hosts_for("acme"), unresolved_ok=True) is not None
    assert rules.check("globex", "http://192.168.7.7/r.git")  # everyone's allowance
    with pytest.raises(SourceError, match="internal address"):
        rules.check("globex", "http://10.1.2.3/r.git")  # acme's alone
    with pytest.raises(SourceError, match="internal address"):
        check_host("http://10.1.2.3/r.git", rules.clone_hosts_for("globex"))


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"roots": [], "clone_hosts": "git.lan"}, "clone_hosts must be a list"),
        ({"roots": [], "clone_hosts": ["bad/host"]}, "acme: clone_hosts: 'bad/host' is neither"),
        ({"roots": [], "hosts": []}, "a list of paths (or {roots, clone_hosts}) is needed"),
        ({"roots": ["relative"]}, "roots must be absolute"),
    ],
)
def test_a_bad_grant_entry_names_the_tenant_and_the_field(
    tmp_path: Path, entry: object, words: str
) -> None:
    grants = tmp_path / "grants.json"
    grants.write_text(json.dumps({"acme": entry}))
    with pytest.raises(SourceGrantsError, match=re.escape(words)):
        load_tenant_grants(grants)
