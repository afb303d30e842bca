"""The sandbox's rootfs (debootstrap), the runtime image, and their one package list."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bdg_sandboxd import rootfs
from bdg_sandboxd.rootfs import MARKER, RUNTIME_PACKAGES, build_rootfs, marker_data

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker/runtime.Dockerfile"
WORKFLOW = REPO / ".github/workflows/runtime-image.yml"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and chroot need root")


@pytest.mark.timeout(10)
def test_argv() -> None:
    assert rootfs.debootstrap_argv(Path("/t"), "bookworm", "http://m/debian") == [
        "debootstrap",
        "--variant=minbase",
        "bookworm",
        "/t",
        "http://m/debian",
    ]
    argv = rootfs.install_argv(Path("/t"), ["nodejs", "git"])
    assert argv[:3] == ["chroot", "/t", "/usr/bin/env"]
    assert argv[-5:] == ["install", "-y", "--no-install-recommends", "nodejs", "git"]
    assert "DEBIAN_FRONTEND=noninteractive" in argv
    assert "bookworm-security" in rootfs.sources_list("bookworm", "http://m/debian")
    assert rootfs.sources_list("sid", "http://m/debian") == "deb http://m/debian sid main\n"
    assert rootfs.default_rootfs() is None
    assert rootfs.rootfs_dir(Path("/s")) == Path("/s/rootfs/bookworm")


@pytest.mark.timeout(10)
def test_a_built_tree_is_not_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(argv: list[str]) -> str:
        raise AssertionError(f"ran {argv}")

    monkeypatch.setattr(rootfs, "run", refuse)
    target = tmp_path / "rootfs"
    target.mkdir()
    data = marker_data("bookworm", RUNTIME_PACKAGES, rootfs.DEFAULT_MIRROR, "minbase")
    (target / MARKER).write_text(json.dumps(data))
    assert build_rootfs(target) == target
    reordered = tuple(reversed(RUNTIME_PACKAGES))  # the same set: still built
    assert build_rootfs(target, include=reordered) == target
    assert not rootfs.is_built(target, marker_data("bookworm", ("git",), "m", "minbase"))
    (target / MARKER).write_text("{not json")
    assert not rootfs.is_built(target, data)


@needs_root
@pytest.mark.timeout(180)
def test_print_debs_dry_run() -> None:
    debs = rootfs.print_debs()
    assert {"base-files", "dpkg", "apt", "bash"} <= set(debs)


@needs_root
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_build_the_runtime_rootfs(tmp_path: Path) -> None:
    """About 60 s here: debootstrap minbase ~25 s, then apt-get update + install ~35 s."""
    target = tmp_path / "rootfs"
    try:
        assert build_rootfs(target) == target
        for tool in ["usr/bin/node", "usr/bin/npm", "usr/bin/python3", "usr/bin/git"]:
            assert (target / tool).exists(), tool
        assert (target / "workspace").is_dir()
        assert "nobody:x:65534:65534" in (target / "etc/passwd").read_text()
        assert not list((target / "var/cache/apt/archives").glob("*.deb"))
        node = subprocess.run(
            ["chroot", str(target), "/usr/bin/node", "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert node.stdout.startswith("v18.")
        started = time.monotonic()
        assert build_rootfs(target) == target  # the marker matches: nothing to do
        assert time.monotonic() - started < 1
        assert not target.with_name("rootfs.partial").exists()
    finally:
        shutil.rmtree(target, ignore_errors=True)  # ~600 MB: not left to pytest


# -- the runtime image ---------------------------------------------------------------------------
def dockerfile_packages() -> set[str]:
    text = DOCKERFILE.read_text()
    found = re.search(r'^ARG RUNTIME_PACKAGES="([^"]*)"', text, re.MULTILINE)
    assert found, "the Dockerfile declares ARG RUNTIME_PACKAGES"
    assert re.search(r"apt-get install [^\n]*\$\{RUNTIME_PACKAGES\}", text), "and installs them"
    return set(found[1].split())


@pytest.mark.timeout(10)
def test_dockerfile_installs_the_rootfs_packages() -> None:
    assert dockerfile_packages() == set(RUNTIME_PACKAGES)
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM debian:bookworm-slim$", text, re.MULTILINE)
    assert re.search(r"^USER 65534:65534$", text, re.MULTILINE)


@pytest.mark.timeout(10)
def test_workflow_builds_that_dockerfile_and_publishes_to_ghcr() -> None:
    flow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    triggers: dict[str, Any] = flow["on"] if "on" in flow else flow[True]  # YAML 1.1: on=True
    assert triggers["push"]["branches"] == ["main"]
    assert flow["permissions"]["packages"] == "write"
    steps = [s for job in flow["jobs"].values() for s in job["steps"]]
    builds = [s for s in steps if str(s.get("uses", "")).startswith("docker/build-push-action@")]
    assert builds
    for step in builds:
        assert (REPO / step["with"]["file"]) == DOCKERFILE
        assert DOCKERFILE.exists()
    pushed = [s for s in builds if s["with"].get("push") is True]
    assert len(pushed) == 1
    tags = pushed[0]["with"]["tags"]
    assert ":latest" in tags
    name: dict[str, Any] = next(s for s in steps if s.get("id") == "image")
    assert "ghcr.io/" in name["run"]
    assert "/bigdaddyg-runtime" in name["run"]
    assert "github.repository_owner" in name["env"]["OWNER"]
    login = next(s for s in steps if str(s.get("uses", "")).startswith("docker/login-action@"))
    assert login["with"]["registry"] == "ghcr.io"
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"
