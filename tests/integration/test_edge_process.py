"""The edge as ``bdg up`` starts it: its own process, and a taken port is a configuration error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bdg_cli.up import default_commands

pytestmark = pytest.mark.timeout(60)


def test_bdg_up_starts_the_edge_as_its_own_process() -> None:
    assert default_commands()["edge"] == [sys.executable, "-m", "bdg_deployer.edge.main"]
    assert default_commands()["deployer"] == [sys.executable, "-m", "bdg_deployer.main"]


def test_a_taken_port_exits_2_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "BDG_HOME": str(tmp_path), "BDG_EDGE_PORT": str(port)}
        done = subprocess.run(
            [sys.executable, "-m", "bdg_deployer.edge.main"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 2
    assert "BDG_EDGE_PORT" in done.stderr


def test_a_bad_deploy_sites_setting_exits_2_naming_it(tmp_path: Path) -> None:
    env = {**os.environ, "BDG_HOME": str(tmp_path), "BDG_DEPLOY_SITES": "yes"}
    env.pop("BDG_ANSWERS_FILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "bdg_deployer.main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "BDG_DEPLOY_SITES must be 0 or 1" in done.stderr


def test_a_bad_git_hosts_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.json"
    hosts.write_text('{"acme": [{"kind": "github", "web_url": "https://github.com"}]}')
    env = {**os.environ, "BDG_HOME": str(tmp_path), "BDG_GIT_HOSTS": str(hosts)}
    env.pop("BDG_ANSWERS_FILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "bdg_deployer.main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"BDG_GIT_HOSTS {hosts}: acme.0.api_url: Field required" in done.stderr
