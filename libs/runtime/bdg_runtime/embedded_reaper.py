"""Stops a home's embedded servers once every process that used them died without letting go.

The embedded PostgreSQL, NATS and SeaweedFS are shared by the processes using one home (each
records its pid as a user; the last to stop stops them), so none of them can be a child that
dies with its starter. A user killed with SIGKILL never lets go: its servers ran on, owned by
nobody, until the next start adopted them, and a temporary home's servers leaked for good. One
reaper per home (a small process of its own session, started with the first server) looks once
a second: when no recorded user is alive, it stops what runs, under the stack lock, so a start
that is registering a new user is never cut off; when the home itself is gone, it stops the
servers it last saw there. Then it exits; the next start starts another.

Run as ``python -m bdg_runtime.embedded_reaper HOME [name=pid ...]``: ``ensure_reaper`` in
``embedded`` does.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bdg_runtime.embedded import (
    REAPER_FILE,
    STOP_TIMEOUT_SECONDS,
    _alive,
    _locked,
    _postmaster_pid,
    _read_state,
)
from bdg_runtime.process_exit import stop

PROCESS = {"nats": "nats-server", "s3": "weed", "postgres": "postgres"}  # names, against pid reuse
LOOK_EVERY_S = 1.0  # how late a crashed run's servers stop; a look reads three small files


@dataclass
class Watch:
    home: Path
    servers: dict[str, int] = field(default_factory=dict)  # name -> pid, as last seen
    users: set[int] = field(default_factory=set)  # as last seen


def users_file(home: Path, server: str) -> Path:
    """Where the users of a server are recorded (pgserver's own list for PostgreSQL)."""
    return {
        "nats": home / "stack.json",
        "s3": home / "s3.json",
        "postgres": home / "pg" / ".handle_pids.json",
    }[server]


def recorded_users(home: Path) -> set[int]:
    """Every pid a user of the home recorded: NATS's and SeaweedFS's users, pgserver's handles."""
    pids: set[int] = set()
    for server, key in (("nats", "nats_users"), ("s3", "users"), ("postgres", None)):
        with contextlib.suppress(FileNotFoundError, ValueError, PermissionError):
            data = json.loads(users_file(home, server).read_text())
            pids.update(data.get(key, []) if key else data)
    return {p for p in pids if isinstance(p, int)}


def running_servers(home: Path) -> dict[str, int]:
    found = {}
    nats = _read_state(home).get("nats_pid")
    if nats and _alive(nats, PROCESS["nats"]):
        found["nats"] = int(nats)
    with contextlib.suppress(FileNotFoundError, ValueError):
        s3 = json.loads((home / "s3.json").read_text()).get("pid")
        if s3 and _alive(s3, PROCESS["s3"]):
            found["s3"] = int(s3)
    postmaster = _postmaster_pid(home / "pg")
    if postmaster and _alive(postmaster, PROCESS["postgres"]):
        found["postgres"] = postmaster
    return found


def stop_server(name: str, pid: int) -> None:
    """SIGINT is PostgreSQL's fast shutdown (clients cut, data flushed); SIGTERM the others'."""
    if not _alive(pid, PROCESS[name]):
        return
    sig = signal.SIGINT if name == "postgres" else signal.SIGTERM
    stop(pid, STOP_TIMEOUT_SECONDS, STOP_TIMEOUT_SECONDS, sig)


def look(watch: Watch) -> bool:
    """One look at the home; True once there is nothing left to watch."""
    if not watch.home.is_dir():  # deleted: stop what ran there, unless its users still live
        if any(_alive(p) for p in watch.users):
            return False
        for name, pid in watch.servers.items():
            stop_server(name, pid)
        return True
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(_locked(watch.home))  # a start registers its user under it
        except FileNotFoundError:
            return False  # deleted since: the next look sees it
        # What earlier looks saw counts while it lives: a home being deleted file by file
        # must not look like a home whose users have all gone.
        known = {name: pid for name, pid in watch.servers.items() if _alive(pid, PROCESS[name])}
        whole = all(users_file(watch.home, name).exists() for name in known)
        watch.servers = {**known, **running_servers(watch.home)}
        recorded = recorded_users(watch.home)
        # A user that let go is off the files; remembered users count only when files are gone.
        watch.users = {p for p in (recorded if whole else recorded | watch.users) if _alive(p)}
        if watch.users:  # even with no server up: a supervisor may be restarting them
            return False
        for name, pid in watch.servers.items():
            stop_server(name, pid)
        # Under the lock: a start that finds no file starts a reaper of its own.
        (watch.home / REAPER_FILE).unlink(missing_ok=True)
        return True


def seeded(argv: list[str]) -> Watch:
    """``HOME [name=pid ...] [user=pid ...]``: what the start that spawned us saw, so a home
    deleted before our first look still has its servers stopped."""
    watch = Watch(Path(argv[1]))
    for item in argv[2:]:
        name, _, pid = item.partition("=")
        if name == "user":
            watch.users.add(int(pid))
        elif name in PROCESS:
            watch.servers[name] = int(pid)
    return watch


def seed_argv(home: Path) -> list[str]:
    servers = [f"{name}={pid}" for name, pid in sorted(running_servers(home).items())]
    return [*servers, *(f"user={pid}" for pid in sorted(recorded_users(home)) if _alive(pid))]


def main(argv: list[str]) -> int:
    watch = seeded(argv)
    while True:
        try:
            if look(watch):
                return 0
        except (OSError, ValueError) as error:  # a file half-deleted or half-written: look again
            print(f"embedded reaper: {error!r}", file=sys.stderr, flush=True)
        time.sleep(LOOK_EVERY_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
