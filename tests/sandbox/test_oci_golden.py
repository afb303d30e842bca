"""``oci.config`` byte for byte: the configs of a few runs, as the code of 2026-12-05 wrote them.

``oci.config`` was rebuilt from small functions (issue 13, item 4) with its output unchanged;
these stored configs (``data/oci/<name>.json``, made by the code before the rebuild) hold it
there. An intended change to the config regenerates them with
``uv run python -m tests.sandbox.test_oci_golden`` and shows in the diff of those files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandboxd import oci
from bdg_sandboxd.backend import RunSpec

pytestmark = pytest.mark.timeout(10)
DATA = Path(__file__).parent / "data" / "oci"
# A stand-in profile: the config carries it as given (the real one is tested in test_oci.py).
SECCOMP = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "X"}]}
HOST = [oci.Bind("/usr", "/usr"), oci.Bind("/etc", "/etc"), oci.Bind("/lib", "/lib")]


def _plain() -> dict[str, Any]:
    spec = RunSpec(run_id="r1", argv=["true"], workspace=Path("/srv/ws/t1"))
    return oci.config(spec, root="rootfs", cgroups_path="/bdg-sandbox/r1", seccomp=SECCOMP)


def _host_system() -> dict[str, Any]:
    spec = RunSpec(
        run_id="r2",
        argv=["node", "index.js"],
        workspace=Path("/srv/ws/t2"),
        cwd="/workspace/app",
        env={"CI": "1", "HOME": "/workspace", "LANG": "fr_FR.UTF-8"},
        limits=Limits(memory_mb=512, pids=100, cpus=1.5, tmp_mb=64),
    )
    return oci.config(
        spec, root="rootfs", cgroups_path="/bdg-sandbox/r2", seccomp=SECCOMP, host_binds=HOST
    )


def _registry_with_cache() -> dict[str, Any]:
    spec = RunSpec(
        run_id="r3",
        argv=["npm", "ci"],
        workspace=Path("/srv/ws/t3"),
        env={"NODE_ENV": "test"},
        limits=Limits(memory_mb=3000, pids=4096, cpus=0.33, tmp_mb=1024, timeout_s=600),
        network="registry",
        rootfs=Path("/var/lib/bdg/rootfs/node"),
        cache=Path("/srv/cache/t3"),
    )
    return oci.config(
        spec,
        root="/var/lib/bdg/rootfs/node",
        cgroups_path="bdg.slice:sandbox:r3",
        seccomp=SECCOMP,
        extra_binds=[
            oci.Bind("/run/bdg/proxy.sock", "/run/proxy.sock"),
            oci.Bind("/opt/bdg/forwarder", "/run/forwarder", readonly=True),
        ],
        argv=["/run/forwarder", "--", "/sbin/tini", "--", "npm", "ci"],
        extra_env={"HTTP_PROXY": "http://127.0.0.1:3128", "NODE_ENV": "production"},
        masked=["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"],
    )


CASES = {"plain": _plain, "host_system": _host_system, "registry_with_cache": _registry_with_cache}


def _text(config: dict[str, Any]) -> str:
    # Key order included: runc's backend writes json.dumps(config) as it comes.
    return json.dumps(config, indent=2) + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_config_is_byte_identical_to_the_stored_one(name: str) -> None:
    stored = (DATA / f"{name}.json").read_text()
    assert _text(CASES[name]()) == stored


if __name__ == "__main__":
    for case, build in CASES.items():
        (DATA / f"{case}.json").write_text(_text(build()))
