"""A local HTTP server speaking OpenAI's Chat Completions API as documented, scripted by the test.

``POST /v1/chat/completions`` checks the request as the real API does (model, messages,
``response_format`` json_schema with strict-mode rules, function ``tools``, ``tool_choice``,
``stream_options`` only with ``stream``) and answers with the next scripted item:
``Reply`` (a completion, or SSE chunks when ``stream`` is true, with a usage chunk when
``stream_options.include_usage``), ``Failure`` (a documented error body, optional
``Retry-After``) or ``Hang`` (holds the request until released, for timeouts). Every request body
is kept in ``requests``. A real server on a free port, in a thread; no delays but events.

``POST /v1/embeddings`` checks the request as documented (``model``; ``input`` a string, a list of
strings, or token arrays, none empty, at most 2048; ``encoding_format`` ``float`` or ``base64``,
which the openai SDK asks for by default; ``dimensions`` for text-embedding-3 models only) and
answers with the next item of its own script (``push_embeddings``): ``Embed`` (the default when
the script is empty), ``Failure`` or ``Hang``. Vectors are deterministic unit vectors hashed from
the words of each text (texts sharing words are close), see ``fake_embedding``. Every embeddings
request body is kept in ``embedding_requests``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/v1/chat/completions"
CREATED = 1_767_225_600


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as the API sends it
    id: str = "call_0"


@dataclass(frozen=True)
class Reply:
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: bool = True
    prompt_tokens: int = 11
    completion_tokens: int = 7
    chunks: tuple[str, ...] | None = None  # the stream's content deltas; default: word by word
    cut_after: int | None = None  # stream: drop the connection after this many deltas


@dataclass(frozen=True)
class Failure:
    status: int
    message: str = ""
    type: str = ""
    code: str | None = None
    param: str | None = None
    retry_after: str | None = None


@dataclass
class Hang:
    """Holds the request until ``release`` is set (or the server stops), then drops it."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


Scripted = Reply | Failure | Hang


@dataclass(frozen=True)
class Embed:
    """Answer an embeddings request (one vector per input, from ``fake_embedding``)."""


EmbeddingScripted = Embed | Failure | Hang
EMBEDDINGS_PATH = "/v1/embeddings"
EMBEDDING_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
MAX_EMBEDDING_INPUTS = 2048

DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


class RequestError(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class FakeOpenAi:
    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.script: deque[Scripted] = deque()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._hangs: list[Hang] = []
        self.embedding_script: deque[EmbeddingScripted] = deque()
        self.embedding_requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # serve_forever looks for shutdown() every poll interval: short, for quick teardowns.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def push(self, *items: Scripted) -> None:
        with self._lock:
            self.script.extend(items)
            self._hangs.extend(i for i in items if isinstance(i, Hang))

    def push_embeddings(self, *items: EmbeddingScripted) -> None:
        """Script the next embeddings answers; once they are used up, every request is answered."""
        with self._lock:
            self.embedding_script.extend(items)
            self._hangs.extend(i for i in items if isinstance(i, Hang))

    def next_embedding(self, body: dict[str, Any]) -> EmbeddingScripted:
        with self._lock:
            self.embedding_requests.append(body)
            return self.embedding_script.popleft() if self.embedding_script else Embed()

    def start(self) -> FakeOpenAi:
        self._thread.start()
        return self

    def stop(self) -> None:
        for hang in self._hangs:
            hang.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def next_item(self, body: dict[str, Any]) -> Scripted:
        with self._lock:
            self.requests.append(body)
            if not self.script:
                return Failure(500, "fake server: no scripted answer left")
            return self.script.popleft()


def _handler(fake: FakeOpenAi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                if self.path not in (PATH, EMBEDDINGS_PATH):
                    self._error(Failure(404, f"Invalid URL (POST {self.path})", code=None))
                    return
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._error(Failure(401))
                    return
                if self.path == EMBEDDINGS_PATH:
                    self._embeddings(raw)
                    return
                body = self._checked(raw, check_request)
                if body is None:
                    return
                item = fake.next_item(body)
                if self._failed_or_held(item):
                    return
                if body.get("stream"):
                    self._stream(body, item)
                else:
                    self._json(200, completion(body, item))
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _embeddings(self, raw: bytes) -> None:
            body = self._checked(raw, check_embeddings_request)
            if body is not None and not self._failed_or_held(fake.next_embedding(body)):
                self._json(200, embeddings(body))

        def _checked(self, raw: bytes, check: Callable[[Any], None]) -> Any:
            """The request's JSON body, or None once a 400 was answered as the API does."""
            try:
                body = json.loads(raw)
                check(body)
            except (ValueError, RequestError) as exc:
                param = exc.param if isinstance(exc, RequestError) else None
                self._error(Failure(400, str(exc), param=param))
                return None
            return body

        def _failed_or_held(self, item: object) -> bool:
            """Answer a scripted Failure, or hold the request for a Hang; False for a reply."""
            if isinstance(item, Failure):
                self._error(item)
                return True
            if isinstance(item, Hang):
                item.arrived.set()
                item.release.wait()
                self.close_connection = True
                return True
            return False

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] = {}) -> None:  # noqa: B006
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, failure: Failure) -> None:
            kind, code, message = DEFAULTS.get(failure.status, ("server_error", None, "Error."))
            error = {
                "message": failure.message or message,
                "type": failure.type or kind,
                "param": failure.param,
                "code": failure.code if failure.code is not None else code,
            }
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            self._json(failure.status, {"error": error}, headers)

        def _stream(self, body: dict[str, Any], reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, chunk in enumerate(stream_chunks(body, reply)):
                if reply.cut_after is not None and i > reply.cut_after:
                    self.close_connection = True  # dropped mid-stream: no [DONE], no last chunk
                    return
                self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _schema_problems(schema: Any, context: tuple[str, ...] = ()) -> list[str]:
    """OpenAI's strict-mode rules: objects list every property as required and set
    additionalProperties false; the root is an object, not anyOf."""
    if not isinstance(schema, dict):
        return []
    if not context and schema.get("type") != "object":
        return [f"In context={context}, schema must be a JSON Schema of 'type: \"object\"'"]
    problems = []
    if schema.get("type") == "object":
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            problems.append(
                f"In context={context}, 'additionalProperties' is required to be supplied "
                "and to be false."
            )
        missing = [p for p in props if p not in schema.get("required", [])]
        if missing:
            problems.append(
                f"In context={context}, 'required' is required to be supplied and to be an "
                f"array including every key in properties. Missing '{missing[0]}'."
            )
        for name, sub in props.items():
            problems += _schema_problems(sub, (*context, "properties", name))
    for i, sub in enumerate(schema.get("anyOf", [])):
        problems += _schema_problems(sub, (*context, "anyOf", str(i)))
    if "items" in schema:
        problems += _schema_problems(schema["items"], (*context, "items"))
    if "oneOf" in schema:
        problems.append(f"In context={context}, 'oneOf' is not permitted.")
    return problems


def check_request(body: Any) -> None:
    if not isinstance(body, dict):
        raise RequestError("We could not parse the JSON body of your request.")
    if not isinstance(body.get("model"), str):
        raise RequestError("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("[] is too short - 'messages'", "messages")
    for i, m in enumerate(messages):
        if m.get("role") not in {"system", "user", "assistant", "tool", "developer"}:
            raise RequestError(f"Invalid value for 'messages[{i}].role'", f"messages[{i}].role")
    if "stream_options" in body and not body.get("stream"):
        raise RequestError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    fmt = body.get("response_format")
    if fmt is not None and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        if not spec.get("name"):
            raise RequestError(
                "Missing required parameter: 'response_format.json_schema.name'.",
                "response_format.json_schema.name",
            )
        if spec.get("strict"):
            problems = _schema_problems(spec.get("schema"))
            if problems:
                raise RequestError(
                    f"Invalid schema for response_format '{spec['name']}': {problems[0]}",
                    "response_format",
                )
    for i, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function") or {}
        if tool.get("type") != "function" or not fn.get("name"):
            raise RequestError(
                f"Missing required parameter: 'tools[{i}].function.name'.", f"tools[{i}]"
            )
        if fn.get("strict"):
            problems = _schema_problems(fn.get("parameters"))
            if problems:
                raise RequestError(
                    f"Invalid schema for function '{fn['name']}': {problems[0]}",
                    f"tools[{i}].function.parameters",
                )
    choice = body.get("tool_choice")
    if choice is not None and not body.get("tools"):
        raise RequestError(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            "tool_choice",
        )


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["content"] = None
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ]
    out: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": body["model"],
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
    }
    if reply.usage:
        out["usage"] = _usage(reply)
    return out


def _words(text: str) -> tuple[str, ...]:
    words = text.split(" ")
    return (*(w + " " for w in words[:-1]), words[-1]) if text else ()


def stream_chunks(body: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            out["usage"] = None
        return out

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    for part in reply.chunks if reply.chunks is not None else _words(reply.content):
        chunks.append(chunk({"content": part}))
    for i, call in enumerate(reply.tool_calls):
        head = {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        chunks.append(chunk({"tool_calls": [{"index": i, **head}]}))
        half = len(call.arguments) // 2
        for part in (call.arguments[:half], call.arguments[half:]):
            chunks.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
    chunks.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
    if include_usage and reply.usage:
        last = chunk({})
        last["choices"] = []
        last["usage"] = _usage(reply)
        chunks.append(last)
    return chunks


# -- embeddings -----------------------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z0-9]+")


def check_embeddings_request(body: Any) -> None:
    if not isinstance(body, dict):
        raise RequestError("We could not parse the JSON body of your request.")
    if not isinstance(body.get("model"), str):
        raise RequestError("you must provide a model parameter", "model")
    texts = _inputs(body.get("input"))
    if not texts or len(texts) > MAX_EMBEDDING_INPUTS or any(t in ("", []) for t in texts):
        raise RequestError(
            "'$.input' is invalid. Please check the API reference: "
            "https://platform.openai.com/docs/api-reference."
        )
    if body.get("encoding_format", "float") not in ("float", "base64"):
        raise RequestError(
            f"Invalid value for 'encoding_format': {body['encoding_format']!r}. "
            "Supported values are: 'float' and 'base64'.",
            "encoding_format",
        )
    if "dimensions" in body:
        dims = body["dimensions"]
        if not body["model"].startswith("text-embedding-3"):
            raise RequestError("This model does not support specifying dimensions.", "dimensions")
        if not isinstance(dims, int) or isinstance(dims, bool) or dims < 1:
            raise RequestError(
                f"Invalid value for 'dimensions' = {dims}. Must be greater than 0.",
                "dimensions",
            )
        most = EMBEDDING_DIMS.get(body["model"])
        if most is not None and dims > most:
            raise RequestError(f"This model's maximum dimensions is {most}.", "dimensions")


def _inputs(value: Any) -> list[Any]:
    """The texts (or token arrays) of ``input``: a string, strings, tokens, or token arrays."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        return []
    if all(isinstance(v, int) for v in value):
        return [value]  # one text given as tokens
    if all(isinstance(v, str) for v in value):
        return value
    if all(isinstance(v, list) and all(isinstance(t, int) for t in v) for v in value):
        return value
    return []


def fake_embedding(text: str | list[int], dims: int) -> list[float]:
    """A unit vector: each word (or token) adds +-1 at a position hashed from it, so texts that
    share words are close and the same text always gets the same vector."""
    words = [str(t) for t in text] if isinstance(text, list) else _WORD.findall(text.lower())
    vector = [0.0] * dims
    for word in words or [str(text)]:
        digest = hashlib.sha256(word.encode()).digest()
        position = int.from_bytes(digest[:8], "big") % dims
        vector[position] += 1.0 if digest[8] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:  # the words cancelled out
        vector[0], norm = 1.0, 1.0
    return [x / norm for x in vector]


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    from bdg_llm.tokens import count_text

    texts = _inputs(body["input"])
    dims = body.get("dimensions") or EMBEDDING_DIMS.get(body["model"], 1536)
    data = []
    for i, text in enumerate(texts):
        vector = fake_embedding(text, dims)
        encoded: Any = vector
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    tokens = sum(len(t) if isinstance(t, list) else count_text(t) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
