"""The offline model as an OpenAI-compatible HTTP server (llama.cpp through xllamacpp).

It runs in a process of its own on 127.0.0.1, so a model crash takes down no service and every
service keeps one code path: the `openai` SDK against `base_url + "/v1"`. JSON-schema-constrained
output works through `response_format` (llama.cpp turns the schema into a grammar). The server
stops on SIGTERM, or by itself when the process that started it dies (its stdin closes).

    python -m bdg_llm.local_server --model FILE --address-file FILE   # what start() runs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from bdg_llm.local_model import SPECULATIVE, LocalModel

THREADS = 2  # this machine's cores; more threads than cores only slows llama.cpp down
CONTEXT = 4096  # tokens of prompt + answer
MAX_ANSWER_TOKENS = 2048  # cap per answer, so a looping small model cannot run to the context end
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
API_KEY_ENV = "BDG_LOCAL_SERVER_API_KEY"
POLL_S = 0.05  # between looks at the starting server, bounded by the start timeout


class LocalServerError(RuntimeError):
    """The server exited or did not answer in time; the message ends with its log's tail."""


@dataclass(frozen=True)
class ServerOptions:
    threads: int = THREADS
    context: int = CONTEXT
    max_answer_tokens: int = MAX_ANSWER_TOKENS
    start_timeout: float = START_TIMEOUT_S
    api_key: str | None = None  # when set, requests without it are refused
    speculative: str = "none"  # one of SPECULATIVE
    draft_model: Path | None = None  # the GGUF "draft" runs

    def __post_init__(self) -> None:
        if self.speculative not in SPECULATIVE:
            raise ValueError(f"speculative must be one of {SPECULATIVE}, not {self.speculative!r}")
        if (self.speculative == "draft") != (self.draft_model is not None):
            raise ValueError('a draft model goes with speculative="draft", and only with it')


@dataclass
class LocalModelServer:
    base_url: str  # http://127.0.0.1:<port>; OpenAI clients take base_url + "/v1"
    model: str  # the id /v1/models announces
    api_key: str | None
    log_path: Path
    _proc: subprocess.Popen[bytes] = field(repr=False)
    context_tokens: int = CONTEXT  # what it serves: prompt + answer, in tokens

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdin is not None:
            self._proc.stdin.close()

    def __enter__(self) -> LocalModelServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start(
    model: LocalModel, log_path: Path, options: ServerOptions = ServerOptions()
) -> LocalModelServer:
    """Start the server on a free port and return once `/v1/models` answers."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Where the server writes its address once listening; one per start, as starts may share a log.
    address_file = log_path.with_name(f"{log_path.stem}.{secrets.token_hex(6)}.address")
    argv = [
        sys.executable, "-m", "bdg_llm.local_server",
        "--model", str(model.path), "--name", model.name, "--address-file", str(address_file),
        "--threads", str(options.threads), "--context", str(options.context),
        "--max-answer-tokens", str(options.max_answer_tokens),
        "--speculative", options.speculative,
    ]  # fmt: skip
    if options.draft_model is not None:
        argv += ["--draft-model", str(options.draft_model)]
    env = {**os.environ, API_KEY_ENV: options.api_key or ""}  # not in argv: `ps` shows that
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE,  # held open by us alone: its EOF tells the server we are gone
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches only the parent, which stops us in order
        )
    server = LocalModelServer("", model.name, options.api_key, log_path, proc, options.context)
    try:
        server.base_url = _wait_ready(proc, address_file, options, log_path)
    except BaseException:
        server.stop()
        raise
    finally:
        address_file.unlink(missing_ok=True)
    return server


def _wait_ready(
    proc: subprocess.Popen[bytes], address_file: Path, options: ServerOptions, log_path: Path
) -> str:
    deadline = time.monotonic() + options.start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LocalServerError(
                f"model server exited with code {proc.returncode}{_tail(log_path)}"
            )
        if address_file.exists() and _answers(address_file.read_text().strip(), options.api_key):
            return address_file.read_text().strip()
        time.sleep(POLL_S)
    raise LocalServerError(
        f"model server did not answer within {options.start_timeout:.0f}s{_tail(log_path)}"
    )


def _answers(base_url: str, api_key: str | None) -> bool:
    request = urllib.request.Request(base_url + "/v1/models")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200 and json.load(response).get("data"))
    except (OSError, ValueError):  # URLError and HTTPError (503 while loading) are OSErrors
        return False


def _tail(log_path: Path) -> str:
    with contextlib.suppress(OSError):
        return "; log tail:\n" + log_path.read_text(errors="replace")[-2000:]
    return ""


def serve(args: argparse.Namespace) -> int:
    """The server process: load the model, serve until SIGTERM/SIGINT or the parent is gone."""
    # Blocked before llama.cpp starts its threads, so they inherit the mask and sigwait gets them.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    api_key = os.environ.pop(API_KEY_ENV, "")

    import xllamacpp as xlc  # the `local` extra; imported here so bdg_llm loads without it

    params = xlc.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.name}
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # a free one, written to the address file once listening
    params.n_ctx = args.context
    params.n_predict = args.max_answer_tokens
    params.n_parallel = 1  # the whole context for one answer at a time; others queue
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.api_keys = [api_key] if api_key else []
    _speculate(xlc, params, args.speculative, args.draft_model)
    server = xlc.Server(params)
    address = str(server.listening_address)
    tmp = Path(args.address_file + ".tmp")
    tmp.write_text(address)
    tmp.replace(args.address_file)
    print(f"bdg local model server: {args.name} on {address}", flush=True)

    def parent_gone() -> None:
        while os.read(0, 4096):  # b"" at EOF: the starting process closed it or died
            pass
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)

    threading.Thread(target=parent_gone, daemon=True).start()
    received = signal.sigwait(stop_signals)
    print(f"bdg local model server: stopping on {signal.Signals(received).name}", flush=True)
    del server  # its destructor stops the HTTP server and frees the model
    return 0


def _speculate(xlc: Any, params: Any, how: str, draft_model: str | None) -> None:
    """Set llama.cpp's speculative decoding (``SPECULATIVE``) on the server's parameters."""
    kinds = xlc.common_speculative_type
    chosen = {
        "none": kinds.COMMON_SPECULATIVE_TYPE_NONE,
        "ngram-simple": kinds.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE,
        "ngram-mod": kinds.COMMON_SPECULATIVE_TYPE_NGRAM_MOD,
        "draft": kinds.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE,
    }[how]
    params.speculative.types = [chosen]
    if how == "draft":
        draft = params.speculative.draft
        draft.mparams.path = draft_model
        draft.cpuparams.n_threads = params.cpuparams.n_threads
        draft.cpuparams_batch.n_threads = params.cpuparams.n_threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bdg_llm.local_server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--address-file", required=True)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--context", type=int, default=CONTEXT)
    parser.add_argument("--max-answer-tokens", type=int, default=MAX_ANSWER_TOKENS)
    parser.add_argument("--speculative", choices=SPECULATIVE, default="none")
    parser.add_argument("--draft-model")
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
