"""Process supervisor for `bdg up`: one OS process per service, prefixed logs, restarts; and the
embedded servers (NATS, PostgreSQL) kept up the same way, restarted where they were."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.text import Text

from bdg_cli.start import child_env
from bdg_runtime.embedded import EmbeddedServer

COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "white")


def die_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook so services (and the sandboxd `bdg up` starts) die with `bdg up` even if
    it is killed -9. The thread that starts the child must live as long as the child should.

    They sit in their own process group, so no terminal signal would reach them otherwise.
    prctl is looked up here, in the parent: the child between fork and exec should do no more
    than the one call.
    """
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG

    return hook


@dataclass(frozen=True)
class Listener:
    """A listening socket the supervisor opened for a service, and how many copies (workers) of
    that service share it: each inherits the socket (``BDG_LISTEN_FD``) and accepts from it, so
    a worker's restart refuses nobody, and a second `bdg up` on the port fails to bind (no
    SO_REUSEPORT)."""

    sock: socket.socket
    workers: int = 1


LISTEN_FD = "BDG_LISTEN_FD"
CONFIG_ERROR = 2  # services exit 2 on bad settings; restarting cannot help
SERVER_POLL_S = 0.25  # between looks at an embedded server (not our child: no exit to wait on)
MAX_BACKOFF_S = 8.0


class Supervisor:
    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        env: Mapping[str, str],
        console: Console,
        *,
        stop_timeout: float = 10.0,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
        servers: Sequence[EmbeddedServer] = (),
        listeners: Mapping[str, Listener] | None = None,
    ) -> None:
        """``env`` is every service's environment; ``service_env`` adds to one service's;
        ``servers`` are restarted whenever they die, until the stop; ``listeners`` are the
        sockets some services serve on, each run as that many workers (each restarted alone)."""
        self.commands, self.env, self.console = commands, env, console
        self.service_env = service_env or {}
        self.servers = servers
        self.listeners = listeners or {}
        self.stop_timeout, self.max_restarts, self.restart_window = (
            stop_timeout,
            max_restarts,
            restart_window,
        )
        names = [*commands, *(server.name for server in servers)]
        self.colours = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self._stopping = asyncio.Event()
        self._pre_exec = die_with_parent_hook()

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> bool:
        """Run until request_stop(); False if every service gave up on its own before that."""
        loop = asyncio.get_running_loop()
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            loop.add_signal_handler(sig, self.request_stop)
        try:
            tasks = [
                asyncio.create_task(self._keep_running(name, worker))
                for name in self.commands
                for worker in range(self._workers(name))
            ]
            watchers = [asyncio.create_task(self._keep_up(server)) for server in self.servers]
            waiters: list[asyncio.Future[Any]] = [
                asyncio.create_task(self._stopping.wait()),
                asyncio.gather(*tasks),
            ]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            stopped = self._stopping.is_set()
            self._stopping.set()  # services that gave up: let the others go too
            await asyncio.gather(*tasks, *watchers)
            return stopped
        finally:
            for sig, handler in previous.items():
                loop.remove_signal_handler(sig)
                signal.signal(sig, handler)  # asyncio would leave the default, not the caller's

    def say(self, name: str, line: str, style: str = "") -> None:
        colour = self.colours.get(name.split("/")[0], "")  # a service's workers share its colour
        self.console.print(
            Text.assemble((f"[{name}] ", f"bold {colour}"), (line, style)),
            soft_wrap=True,
        )

    def _workers(self, name: str) -> int:
        listener = self.listeners.get(name)
        return listener.workers if listener is not None else 1

    async def _keep_running(self, service: str, worker: int = 0) -> None:
        # Worker 0 goes by the service's name (logs, procs); the others add their number.
        name = service if worker == 0 else f"{service}/{worker + 1}"
        restarts: deque[float] = deque()
        while not self._stopping.is_set():
            code = await self._run_once(service, name, worker)
            if self._stopping.is_set():
                return
            if code == CONFIG_ERROR:
                self.say(
                    name,
                    "exited with a configuration error (code 2): not restarting; "
                    "fix the setting it named above",
                    "bold red",
                )
                return
            now = time.monotonic()
            while restarts and now - restarts[0] > self.restart_window:
                restarts.popleft()
            if len(restarts) >= self.max_restarts:
                self.say(
                    name,
                    f"exited with code {code}; {self.max_restarts} restarts within "
                    f"{self.restart_window:.0f}s, giving up",
                    "bold red",
                )
                return
            delay = min(0.5 * 2 ** len(restarts), 8.0)
            restarts.append(now)
            self.say(
                name,
                f"exited unexpectedly with code {code}; restarting in {delay:.1f}s",
                "bold red",
            )
            with contextlib.suppress(TimeoutError):  # backoff that a stop request cuts short
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _keep_up(self, server: EmbeddedServer) -> None:
        """Restart ``server`` on its data dir and port each time it dies, with backoff while
        restarts fail or come close together; never give up, every service needs it."""
        recent: deque[float] = deque()
        while not await self._stop_within(SERVER_POLL_S):
            if await asyncio.to_thread(server.alive):
                continue
            self.say(server.name, "is gone (killed or crashed)", "bold red")
            while not self._stopping.is_set():
                now = time.monotonic()
                while recent and now - recent[0] > self.restart_window:
                    recent.popleft()
                delay = min(0.5 * 2 ** len(recent), MAX_BACKOFF_S)
                recent.append(now)
                self.say(server.name, f"restarting in {delay:.1f}s", "bold red")
                if await self._stop_within(delay):
                    return
                try:
                    running = await asyncio.to_thread(server.restart)
                except Exception as error:  # the next try may find the port or memory freed
                    self.say(server.name, f"restart failed: {error}", "bold red")
                    continue
                self.say(server.name, f"restarted: {running}")
                break

    async def _stop_within(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True as soon as a stop was requested."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _run_once(self, service: str, name: str, worker: int) -> int:
        env = child_env(self.env) | {
            **self.service_env.get(service, {}),
            "BDG_SERVICE_NAME": service,
            "PYTHONUNBUFFERED": "1",
        }
        inherited: tuple[int, ...] = ()
        if (listener := self.listeners.get(service)) is not None:
            inherited = (listener.sock.fileno(),)
            env[LISTEN_FD] = str(inherited[0])
        if worker and env.get("BDG_METRICS_PORT"):
            env["BDG_METRICS_PORT"] = "0"  # the service's port is the first worker's; any other
        try:
            # Own process group: a terminal Ctrl-C reaches only us, and we stop services in order.
            proc = await asyncio.create_subprocess_exec(
                *self.commands[service],
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=self._pre_exec,
                pass_fds=inherited,
                limit=1 << 20,
            )
        except OSError as err:
            self.say(name, f"cannot start {list(self.commands[service])}: {err}", "bold red")
            return 127
        self.procs[name] = proc
        self.say(name, f"started (pid {proc.pid})", "dim")
        assert proc.stdout is not None
        assert proc.stderr is not None
        pumps = [asyncio.create_task(self._pump(name, s)) for s in (proc.stdout, proc.stderr)]
        stop = asyncio.create_task(self._stopping.wait())
        exited = asyncio.create_task(proc.wait())
        await asyncio.wait([stop, exited], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not exited.done():
            await self._terminate(name, proc)
        # Flush what the child wrote before it died, but a grandchild still holding the pipe
        # open must not block us forever.
        _, pending = await asyncio.wait(pumps, timeout=2.0)
        for pump in pending:
            pump.cancel()
        return await exited

    async def _terminate(self, name: str, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.stop_timeout)
            self.say(name, f"stopped (code {proc.returncode})", "dim")
        except TimeoutError:
            self.say(name, f"no exit {self.stop_timeout:.0f}s after SIGTERM: SIGKILL", "bold red")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # over the 1 MiB limit: asyncio dropped it; keep the pipe drained
                self.say(name, "<over 1 MiB without a newline: dropped>", "dim")
                continue
            if not line:
                return
            self.say(name, line.decode(errors="replace").rstrip("\n"))
