"""The pure parts of the runc backend: the OCI config, the seccomp profile, the cgroup layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandboxd import cgroups, oci, seccomp
from bdg_sandboxd.backend import RunSpec

pytestmark = pytest.mark.timeout(10)
PROFILE = seccomp.profile("x86_64")


def build(**overrides: Any) -> dict[str, Any]:
    spec = RunSpec(
        run_id="r1",
        argv=["node", "index.js"],
        workspace=Path("/srv/ws/t1"),
        env={"CI": "1", "HOME": "/workspace"},
        limits=Limits(memory_mb=512, pids=100, cpus=1.5, tmp_mb=64),
    )
    kwargs: dict[str, Any] = {
        "root": "rootfs",
        "cgroups_path": "/bdg-sandbox/r1",
        "seccomp": PROFILE,
        "host_binds": [oci.Bind("/usr", "/usr"), oci.Bind("/etc", "/etc")],
        **overrides,
    }
    return oci.config(spec, **kwargs)


def mounts(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["destination"]: m for m in config["mounts"]}


def test_the_process_has_no_privileges() -> None:
    process = build()["process"]
    assert process["user"] == {"uid": 65534, "gid": 65534, "additionalGids": []}
    assert process["noNewPrivileges"] is True
    assert all(caps == [] for caps in process["capabilities"].values())
    assert set(process["capabilities"]) == {
        "bounding",
        "effective",
        "inheritable",
        "permitted",
        "ambient",
    }
    assert process["terminal"] is False


def test_argv_cwd_and_env() -> None:
    process = build(extra_env={"HTTP_PROXY": "http://127.0.0.1:3128"})["process"]
    assert process["args"] == ["node", "index.js"]
    assert process["cwd"] == "/workspace"
    env = dict(item.split("=", 1) for item in process["env"])
    assert env["HOME"] == "/workspace"  # the spec's own beat the defaults
    assert env["CI"] == "1"
    assert env["HTTP_PROXY"] == "http://127.0.0.1:3128"
    assert env["PATH"].startswith("/usr/local/sbin:")
    assert build(argv=["tini", "--", "node"])["process"]["args"] == ["tini", "--", "node"]


def test_root_is_read_only_and_only_system_directories_are_bound() -> None:
    config = build()
    assert config["root"] == {"path": "rootfs", "readonly": True}
    by_dest = mounts(config)
    for system in ("/usr", "/etc"):
        assert by_dest[system]["type"] == "bind"
        assert {"ro", "nosuid", "nodev"} <= set(by_dest[system]["options"])
    binds = {m["source"] for m in config["mounts"] if m["type"] == "bind"}
    assert binds == {"/usr", "/etc", "/srv/ws/t1"}
    for never in ("/root", "/home", "/var", "/run/runc"):
        assert never not in by_dest
        assert never not in binds


def test_workspace_is_writable_and_tmp_is_a_sized_tmpfs() -> None:
    by_dest = mounts(build())
    workspace = by_dest["/workspace"]
    assert (workspace["source"], workspace["type"]) == ("/srv/ws/t1", "bind")
    assert "rw" in workspace["options"]
    assert {"nosuid", "nodev"} <= set(workspace["options"])
    tmp = by_dest["/tmp"]
    assert tmp["type"] == "tmpfs"
    assert {"size=64m", "mode=1777", "nosuid", "nodev"} <= set(tmp["options"])


def test_the_cache_is_bound_read_write_only_when_the_spec_has_one() -> None:
    assert "/cache" not in mounts(build())
    spec = RunSpec(run_id="r1", argv=["true"], workspace=Path("/w"), cache=Path("/c/acme"))
    config = oci.config(spec, root="rootfs", cgroups_path="/bdg-sandbox/r1", seccomp=PROFILE)
    cache = mounts(config)["/cache"]
    assert (cache["source"], cache["type"]) == ("/c/acme", "bind")
    assert {"rw", "nosuid", "nodev"} <= set(cache["options"])


def test_own_proc_read_only_sys_and_minimal_dev() -> None:
    by_dest = mounts(build())
    assert by_dest["/proc"]["type"] == "proc"
    assert by_dest["/sys"]["type"] == "sysfs"
    assert "ro" in by_dest["/sys"]["options"]
    assert by_dest["/dev"]["type"] == "tmpfs"  # runc creates its default devices in it
    assert build()["linux"]["resources"]["devices"] == [{"allow": False, "access": "rwm"}]


def test_extra_binds_go_after_the_tmpfs_run_they_sit_in() -> None:
    config = build(extra_binds=[oci.Bind("/var/lib/bdg/proxy.sock", "/run/bdg-proxy.sock")])
    order = [m["destination"] for m in config["mounts"]]
    assert order.index("/run") < order.index("/run/bdg-proxy.sock")
    assert "ro" in mounts(config)["/run/bdg-proxy.sock"]["options"]


def test_namespaces_and_no_user_namespace() -> None:
    kinds = {ns["type"] for ns in build()["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= kinds
    assert "user" not in kinds
    assert all("path" not in ns for ns in build()["linux"]["namespaces"])  # none of the host's


def test_cgroup_limits() -> None:
    linux = build()["linux"]
    assert linux["cgroupsPath"] == "/bdg-sandbox/r1"
    resources = linux["resources"]
    assert resources["memory"] == {"limit": 512 << 20, "swap": 512 << 20}
    assert resources["pids"] == {"limit": 100}
    assert resources["cpu"] == {"quota": 150_000, "period": 100_000}


def test_secrets_are_masked() -> None:
    masked = build(masked=["/etc/ssh/ssh_host_ed25519_key"])["linux"]["maskedPaths"]
    for path in ("/etc/shadow", "/etc/gshadow", "/proc/kcore", "/etc/ssh/ssh_host_ed25519_key"):
        assert path in masked
    assert "/proc/sys" in build()["linux"]["readonlyPaths"]


def test_the_config_is_json_and_carries_the_profile() -> None:
    config = json.loads(json.dumps(build()))
    assert config["linux"]["seccomp"] == PROFILE
    assert config["ociVersion"].startswith("1.")


def test_seccomp_denies_the_escape_syscalls_with_eperm() -> None:
    required = {
        "ptrace",
        "mount",
        "umount2",
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "unshare",
        "setns",
        "pivot_root",
        "swapon",
        "swapoff",
        "reboot",
        "perf_event_open",
        "userfaultfd",
        "open_by_handle_at",
        "process_vm_readv",
        "process_vm_writev",
    }
    assert PROFILE["defaultAction"] == "SCMP_ACT_ALLOW"
    denied = {
        name
        for rule in PROFILE["syscalls"]
        if "args" not in rule and rule["action"] == "SCMP_ACT_ERRNO" and rule["errnoRet"] == 1
        for name in rule["names"]
    }
    assert required <= denied
    assert "SCMP_ARCH_X86" in PROFILE["architectures"]  # 32-bit calls are filtered too


def test_seccomp_refuses_clone_into_new_namespaces() -> None:
    clone_rules = [r for r in PROFILE["syscalls"] if r["names"] == ["clone"]]
    flags = {rule["args"][0]["value"] for rule in clone_rules}
    assert 0x10000000 in flags  # CLONE_NEWUSER
    assert 0x40000000 in flags  # CLONE_NEWNET
    assert all(r["args"][0]["op"] == "SCMP_CMP_MASKED_EQ" for r in clone_rules)
    clone3 = next(r for r in PROFILE["syscalls"] if r["names"] == ["clone3"])
    assert clone3["errnoRet"] == 38  # ENOSYS: the C library falls back to clone


HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
"""
V2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"


def test_cgroup_layouts() -> None:
    hybrid = cgroups.parse_mountinfo(HYBRID)
    assert hybrid.layout == "hybrid"
    assert hybrid.controllers() == {"cpu", "cpuacct", "memory", "pids"}
    assert hybrid.memory_dir("/bdg-sandbox/r1") == Path("/sys/fs/cgroup/memory/bdg-sandbox/r1")
    assert Path("/sys/fs/cgroup/unified") in hybrid.trees()
    assert len(hybrid.trees()) == 5  # cpu and cpuacct share one tree
    v1 = cgroups.parse_mountinfo("\n".join(HYBRID.splitlines()[:-1]))
    assert v1.layout == "v1"
    v2 = cgroups.parse_mountinfo(V2)
    assert v2.layout == "v2"
    assert v2.memory_dir("/bdg-sandbox/r1") == Path("/sys/fs/cgroup/bdg-sandbox/r1")
    assert v2.trees() == [Path("/sys/fs/cgroup")]


def test_memory_record_reads_v1_and_v2_counters(tmp_path: Path) -> None:
    v1_dir = tmp_path / "memory" / "bdg-sandbox" / "r1"
    v1_dir.mkdir(parents=True)
    (v1_dir / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (v1_dir / "memory.max_usage_in_bytes").write_text("67108864\n")
    (v1_dir / "memory.limit_in_bytes").write_text("67108864\n")
    v1 = cgroups.Hierarchies({"memory": tmp_path / "memory"}, None)
    record = cgroups.memory_record(v1, "/bdg-sandbox/r1")
    assert record == cgroups.MemoryRecord(oom_kills=2, peak_bytes=64 << 20, limit_bytes=64 << 20)
    assert record.at_limit()

    v2_dir = tmp_path / "unified" / "bdg-sandbox" / "r2"
    v2_dir.mkdir(parents=True)
    (v2_dir / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    (v2_dir / "memory.max").write_text("max\n")
    v2 = cgroups.Hierarchies({}, tmp_path / "unified")
    record = cgroups.memory_record(v2, "/bdg-sandbox/r2")
    assert record == cgroups.MemoryRecord(oom_kills=1, peak_bytes=None, limit_bytes=None)
    assert not record.at_limit()
    assert cgroups.memory_record(v2, "/bdg-sandbox/gone") is None
