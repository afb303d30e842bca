"""The scripted author of the PWA scenario: hand-written model answers behind an
OpenAI-compatible endpoint, to record ``recorded-calls.jsonl`` from.

No capable model was reachable when the scenario was recorded, so its answers were written by
hand (the plan below, the files under ``change/``, the review) and served by this script; the
services asked it as they would ask any endpoint and appended every call to the recordings
(``BDG_LLM_RECORD``). ``bdg demo`` answers from those recordings. The answers do not depend on
what the services send beyond the role asked (read from the system prompt) and, for the coder,
how many turns it took already: it writes one file of ``change/`` per turn, then finishes.

It speaks Chat Completions as documented (https://platform.openai.com/docs/api-reference/chat/
create: the response object; with ``stream`` the ``chat.completion.chunk`` events ending with
``data: [DONE]``, a usage chunk when ``stream_options.include_usage``).

    uv run python examples/pwa-scenario/author.py --port 8799
    uv run python examples/pwa-scenario/author.py --port 8799 --overrides \
        examples/pwa-scenario/heavy-page
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHANGE = Path(__file__).resolve().parent / "change"
# Files that replace change/'s (``--overrides``): heavy-page/ records the job whose preview
# fails Lighthouse (heavy-page/recorded-calls.jsonl).
OVERRIDES: list[Path] = []
# The order the coder writes them in: data first, then what uses it, then the tests.
FILES = (
    "src/notes.ts",
    "src/notesDb.ts",
    "src/App.tsx",
    "src/main.tsx",
    "src/index.css",
    "public/manifest.webmanifest",
    "public/icon.svg",
    "public/sw.js",
    "index.html",
    "src/notes.test.ts",
    "src/App.test.tsx",
)
PLAN = """\
- [ ] `src/notes.ts`: notes as plain data (id, text, updatedAt); title = first line; newest first
- [ ] `src/notesDb.ts`: a `NoteStore` on IndexedDB (database `notes-pwa` v1, store `notes` keyed \
by `id`, the upgrade callback switching on `oldVersion`), and a memory store for the tests
- [ ] `src/App.tsx`: write, list and delete notes through the store; an online/offline status \
that says the notes stay on the device
- [ ] `public/sw.js`: precache the app shell, pages network first, assets cache first, so a \
reload works with the network off; registered from `src/main.tsx`
- [ ] `public/manifest.webmanifest` (name, icon, `display: standalone`, theme colour) linked \
from `index.html`
- [ ] Tests with Vitest and Testing Library: the notes logic, and the App saving, deleting and \
showing the stored notes after a remount
- [ ] `npm test` and `npm run build` pass
"""
CRITIQUE = {
    "score": 9,
    "risks": ["Storage may be evicted under pressure; navigator.storage.persist() would ask"],
    "changes": [],
}
REVIEW = {
    "approved": True,
    "score": 9,
    "notes": (
        "The diff turns the app into a notes PWA: notes stored in IndexedDB through a small "
        "store, a service worker that serves the shell offline, a linked manifest, and tests "
        "for the logic and the UI. Not done: sync between devices (out of scope)."
    ),
}
FINISH = (
    "Made the app a notes PWA: notes in IndexedDB (src/notesDb.ts), the UI in src/App.tsx, "
    "a service worker (public/sw.js) and a manifest for offline use and installation, tests "
    "for the notes logic and the App."
)


def coder_answer(turns: int) -> dict[str, Any]:
    """The call for the coder's turn ``turns`` (0-based): one file each, then finish."""
    if turns < len(FILES):
        path = FILES[turns]
        return {"tool": "file_write", "arguments": {"path": path, "content": _read(path)}}
    return {"tool": "finish", "arguments": {"summary": FINISH}}


def _read(path: str) -> str:
    found = [d / path for d in OVERRIDES if (d / path).is_file()]
    return (found[0] if found else CHANGE / path).read_text(encoding="utf-8")


def answer(body: dict[str, Any]) -> str:
    """The answer to a Chat Completions request body, by the role its system prompt names."""
    messages = body["messages"]
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if system.startswith("You are the planner"):
        return PLAN
    if system.startswith("You are a strict reviewer of coding plans"):
        return json.dumps(CRITIQUE)
    if system.startswith("You review a finished change"):
        return json.dumps(REVIEW)
    if system.startswith("You are the coder"):
        turns = sum(1 for m in messages if m["role"] == "assistant")
        return json.dumps(coder_answer(turns))
    raise ValueError(f"no scripted answer for the system prompt {system[:80]!r}")


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-author",
        "object": "chat.completion",
        "created": 1_767_225_600,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(body, content),
    }


def _usage(body: dict[str, Any], content: str) -> dict[str, int]:
    # About four characters a token: the recordings' token counts are estimates, said in README.
    prompt = sum(len(str(m.get("content") or "")) for m in body["messages"]) // 4 + 1
    completion = len(content) // 4 + 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _chunks(body: dict[str, Any], content: str) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-author",
            "object": "chat.completion.chunk",
            "created": 1_767_225_600,
            "model": body["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": content}, None), chunk({}, "stop")]
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = chunk({}, None) | {"choices": [], "usage": _usage(body, content)}
        chunks.append(usage)
    return chunks


class Author(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        try:
            content = answer(body)
        except (ValueError, KeyError, IndexError) as error:
            error_body = {"message": str(error), "type": "invalid_request_error"}
            self._json(400, {"error": error_body})
            return
        if not body.get("stream"):
            self._json(200, _completion(body, content))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for chunk in _chunks(body, content):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--overrides", type=Path, help="a folder of files replacing change/'s")
    args = parser.parse_args()
    port = args.port
    if args.overrides is not None:
        OVERRIDES.append(args.overrides.resolve())
    server = ThreadingHTTPServer(("127.0.0.1", port), Author)
    print(f"scripted author at http://127.0.0.1:{port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
