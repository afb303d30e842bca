"""A light HTTP load generator for the latency benches: ``--concurrency`` requests at once, each
on its own new connection, ``--rounds`` times; prints each request's seconds as JSON, one list
per round.

Why not httpx in the bench process: on a 2-core machine the client's own CPU (httpx builds and
parses every request in Python) competes with the server it measures, and in bench/job_create.py
the same process also pumps every service's log. Here the request is built once as bytes, the
client only writes it and reads the status line and the body's length, and it runs in its own
process that imports nothing else. Both the HTTP floor and the gateway are measured with it.

    python -m bench.http_burst HOST PORT --path /jobs --body '{...}' [--header 'K: V' ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time


def request_bytes(host: str, port: int, path: str, body: bytes, headers: list[str]) -> bytes:
    """One POST with a JSON body, ``Connection: close`` (each request its own connection)."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(host: str, port: int, request: bytes) -> int:
    """Send ``request`` on a new connection; the status code, once the whole answer is read."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status
    finally:
        writer.close()


async def burst(host: str, port: int, request: bytes, n: int, expect: int) -> list[float]:
    """``n`` requests started together; each one's seconds from the common start to its end."""
    start = asyncio.Event()
    times: list[float] = []

    async def one() -> None:
        await start.wait()
        t0 = time.perf_counter()
        status = await exchange(host, port, request)
        times.append(time.perf_counter() - t0)
        if status != expect:
            raise RuntimeError(f"answered {status}, expected {expect}")

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await asyncio.sleep(0)  # every task waits on the start line
    start.set()
    await asyncio.gather(*tasks)
    return times


async def run(args: argparse.Namespace) -> list[list[float]]:
    request = request_bytes(args.host, args.port, args.path, args.body.encode(), args.header)
    return [
        await burst(args.host, args.port, request, args.concurrency, args.expect)
        for _ in range(args.rounds)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--path", default="/jobs")
    parser.add_argument("--body", default="{}")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--expect", type=int, default=201)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
