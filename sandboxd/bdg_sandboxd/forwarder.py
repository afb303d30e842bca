"""Inside a sandbox: relay 127.0.0.1:3128 to the egress proxy's unix socket, run a command.

    python3 -I /run/bdg-forwarder.py [--listen HOST:PORT] <unix-socket> -- argv...

The sandbox has only ``lo``, so HTTP(S)_PROXY=http://127.0.0.1:3128 (set for the command here)
is its one way out: each TCP connection accepted there is copied both ways to the unix socket,
bind-mounted from the host, where the allow-list proxy decides. The command's exit status is
ours (a signal n as 128+n); we forward TERM/INT/HUP/QUIT/USR1/USR2 to it, reap orphans (we may
be PID 1) and exit as soon as it exits.

Standard library only and self-contained: it runs with whatever python3 the sandbox has.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

DEFAULT_LISTEN = "127.0.0.1:3128"
CHUNK = 64 * 1024
MAX_CONNECTIONS = 256
FORWARDED_SIGNALS = (
    signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2
)  # fmt: skip
PROXY_VARIABLES = (
    "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
    "npm_config_proxy", "npm_config_https_proxy", "PIP_PROXY",
)  # fmt: skip
USAGE = "usage: bdg-forwarder.py [--listen HOST:PORT] <unix-socket> -- argv..."
BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    b"the egress proxy is unreachable from this sandbox\n"
)


def proxy_env(url: str) -> dict[str, str]:
    """What a command needs to send its HTTP(S) through ``url`` (and the sandbox's lo not)."""
    env = dict.fromkeys(PROXY_VARIABLES, url)
    env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1"
    return env


class UsageError(Exception):
    """The command line is not ``[--listen HOST:PORT] <unix-socket> -- argv...``."""


def parse_args(args: list[str]) -> tuple[tuple[str, int], str, list[str]]:
    if "--" not in args:
        raise UsageError("missing -- before the command")
    split = args.index("--")
    options, command = args[:split], args[split + 1 :]
    listen = DEFAULT_LISTEN
    if options[:1] == ["--listen"] and len(options) >= 2:
        listen, options = options[1], options[2:]
    host, colon, port = listen.rpartition(":")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"bad listen address {listen!r}")
    if len(options) != 1 or not command:
        raise UsageError("expected one unix socket path and a command")
    return (host, int(port)), options[0], command


def pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until EOF (then half-close the sink) or an error (then shut both down)."""
    try:
        while True:
            data = source.recv(CHUNK)
            if not data:
                break
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def refuse(client: socket.socket) -> None:
    """Answer 502, after reading the request (closing on unread data would reset the answer)."""
    client.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 16384:
        data = client.recv(4096)
        if not data:
            break
        head += data
    client.sendall(BAD_GATEWAY)


def relay(client: socket.socket, target: str, slots: threading.BoundedSemaphore) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            upstream.connect(target)
        except OSError:
            refuse(client)
            return
        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join()
    except OSError:
        pass
    finally:
        upstream.close()
        client.close()
        slots.release()


ACCEPT_BACKOFF_S = 0.1


def serve(listener: socket.socket, target: str) -> None:
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    while True:
        try:
            client, _ = listener.accept()
        except OSError:  # out of descriptors, say: let some connections finish
            time.sleep(ACCEPT_BACKOFF_S)
            continue
        if not slots.acquire(blocking=False):
            client.close()
            continue
        threading.Thread(target=relay, args=(client, target, slots), daemon=True).start()


def exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def run(command: list[str], env: dict[str, str]) -> int:
    child: list[int] = []
    pending: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child[0], signum)
        else:
            pending.append(signum)

    for forwarded in FORWARDED_SIGNALS:
        signal.signal(forwarded, forward)
    try:
        process = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        print(f"bdg-forwarder: command not found: {command[0]}", file=sys.stderr)
        return 127
    except OSError as error:
        print(f"bdg-forwarder: cannot run {command[0]}: {error}", file=sys.stderr)
        return 126
    child.append(process.pid)
    for early in pending:
        os.kill(process.pid, early)
    while True:  # reap everything (orphans come to us when we are PID 1) until our child
        pid, status = os.waitpid(-1, 0)
        if pid == process.pid:
            process.returncode = exit_code(status)
            return process.returncode


def main(args: list[str]) -> int:
    try:
        listen, target, command = parse_args(args)
    except UsageError as error:
        print(f"bdg-forwarder: {error}\n{USAGE}", file=sys.stderr)
        return 2
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(listen)
        listener.listen(128)
    except OSError as error:
        print(f"bdg-forwarder: cannot listen on {listen[0]}:{listen[1]}: {error}", file=sys.stderr)
        return 125
    host, port = listener.getsockname()[:2]
    threading.Thread(target=serve, args=(listener, target), daemon=True).start()
    env = dict(os.environ)
    env.update(proxy_env(f"http://{host}:{port}"))
    return run(command, env)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # relay threads may still be blocked: do not wait for them
