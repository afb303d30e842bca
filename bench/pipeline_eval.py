"""A fast evaluator of the pipeline's answer formats on the agent bench's tasks (no job, no
stack): minutes, where `bench.agent_bench` takes hours.

For each task: its repository is made (``make_repo``) in a temporary folder; *localize* picks the
files as the pipeline does (those the goal names, then the repository's other code files in
place of the index's hits, at most 4, cut to the coder's context budget for the served model);
the repair call(s) go to the live local model (temperature 0, the fixed seed) in one of two
formats, and the edits that pass their check are written to the folder:

- ``edits``: the pipeline's list of {path, symbol, search, replace} edits, one repair turn;
- ``symbol``: one complete definition per symbol the goal is about (we name it), one retry
  turn each, then one new test appended to the project's test file (kept if it parses).

Then the task's hidden files are copied in and its hidden test runs there with no network
(``unshare -rn``). Prints per task: solved or not, edits landed, tokens, seconds; then totals and
the load average. The plan is empty (no planner runs). Held-out tasks run only with an explicit
``--split heldout`` (for reporting; never tune on their output).

    uv run python -m bench.pipeline_eval [--format edits|symbol] [--tasks a,b] [--split dev]
        [--size 0.5b|1.5b] [--capture DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from bdg_coder.domain import CodingTask
from bdg_coder.limits import limits_for_context
from bdg_coder.pipeline import prompts
from bdg_coder.pipeline.edits import Repair, check_edits, parse_repair, report
from bdg_coder.pipeline.localize import MAX_FILES, candidates, fit
from bdg_coder.pipeline.rewrite import (
    RETRY_TEMPERATURE,
    NewTest,
    Rewrite,
    check_rewrite,
    check_test,
    code_in,
    definition,
    file_of_tests,
    parse_code,
    targets,
    trimmed,
)
from bdg_coder.pipeline.testing.test_imports import with_imports
from bdg_llm.api import ChatRequest, Message
from bdg_llm.local_model import LocalModelConfig, resolve_model
from bdg_llm.local_server import ServerOptions, start
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.schema import structured_request
from bdg_llm.settings import LlmSettings
from bdg_tools.symbols.lookup import language_of
from bench.agent_tasks.tasks import AgentTask, load_tasks, make_repo

FORMATS = ("edits", "symbol", "symbol-json")
HIDDEN_TIMEOUT = 120.0  # seconds for a task's hidden test


class RefusedError(ValueError):
    """Tasks of the held-out half asked for without ``--split heldout``."""


def chosen_tasks(all_tasks: Sequence[AgentTask], names: str, split: str) -> list[AgentTask]:
    """The tasks to run: ``names`` (comma separated) or the whole ``split``; a held-out task
    only when the split asked for is ``heldout``."""
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        by_id = {t.id: t for t in all_tasks}
        unknown = [n for n in wanted if n not in by_id]
        if unknown:
            raise ValueError(f"no such task: {', '.join(unknown)}")
        picked = [by_id[n] for n in wanted]
    else:
        picked = [t for t in all_tasks if t.split == split]
    held = [t.id for t in picked if t.split != split]
    if held:
        raise RefusedError(
            f"{', '.join(held)} {'is' if len(held) == 1 else 'are'} not in the {split} half; "
            "held-out tasks run only with --split heldout (to report, never to tune)"
        )
    return picked


def localized(task: CodingTask, repo: Mapping[str, str]) -> dict[str, str]:
    """The files to show, as the pipeline ranks them; the repository's other code files (tests
    after sources) stand in for the index's hits."""
    code = [p for p in repo if language_of(p)]
    rest = sorted(code, key=lambda p: ("test" in p, p))
    files: dict[str, str] = {}
    for path in candidates(task.goal, task.plan_markdown, task.feedback, ()) + rest:
        if path in repo and path not in files:
            files[path] = repo[path]
        if len(files) >= MAX_FILES:
            break
    return files


@dataclass
class Outcome:
    task: str
    landed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    answers: list[dict[str, str]] = field(default_factory=list)  # prompt and answer, in order
    files: dict[str, str] = field(default_factory=dict)  # as shown, before any change
    solved: bool = False
    seconds: float = 0.0
    test_kept: bool = False


class Asker:
    def __init__(self, llm: OpenAiClient, outcome: Outcome) -> None:
        self.llm, self.outcome = llm, outcome

    async def __call__(
        self, messages: list[Message], answer: type[BaseModel] | None, temperature: float = 0.0
    ) -> str:
        request = ChatRequest(role="coder", messages=tuple(messages), temperature=temperature)
        if answer is not None:
            request = structured_request(request, answer)
        result = await self.llm.chat(request)
        self.outcome.calls += 1
        self.outcome.prompt_tokens += result.prompt_tokens
        self.outcome.completion_tokens += result.completion_tokens
        self.outcome.answers.append({"prompt": messages[-1].content, "answer": result.content})
        return result.content


async def edits_format(
    ask: Asker, task: CodingTask, files: dict[str, str], budget: int, out: Outcome
) -> None:
    """The pipeline's multi-edit answer and its one repair turn (as ``PipelineRun.loop``)."""
    shown = fit(list(files.items()), budget)
    conversation = [
        Message("system", prompts.SYSTEM),
        Message("user", prompts.task_prompt(task, shown)),
    ]
    for turn in range(2):
        answer = await ask(conversation, Repair)
        parsed = parse_repair(answer)
        if isinstance(parsed, str):
            said, failed, changed = parsed, 1, []
        else:
            checked = check_edits(files, parsed.edits)
            for c in checked:
                if c.error:
                    continue
                files[c.edit.path] = c.after
                out.landed.append(f"{c.edit.path} ({c.tool})")
            failed = sum(1 for c in checked if c.error)
            said = report(checked)
            changed = sorted({(c.edit.path, files[c.edit.path]) for c in checked if not c.error})
        if not failed or turn == 1:
            if failed:
                out.failed.append(said[:300])
            return
        conversation += [
            Message("assistant", answer),
            Message("user", prompts.retry_prompt(said, changed)),
        ]


async def symbol_format(
    ask: Asker, task: CodingTask, files: dict[str, str], out: Outcome, bound: bool, budget: int
) -> None:
    """One complete definition per target (one retry each), then one new test; each answer a
    plain code block, or with ``bound`` JSON under the schema."""
    json_note = prompts.JSON_ANSWER if bound else ""

    def code_of(answer: str, kind: type[Rewrite] | type[NewTest]) -> str | None:
        return parse_code(answer, kind) if bound else code_in(answer)

    written: list[tuple[str, str]] = []
    chosen = targets(task.goal, task.plan_markdown, files)
    if not chosen:  # a file to create, or nothing to rewrite: the list of edits
        await edits_format(ask, task, files, budget, out)
        return
    for target in chosen:
        content = files[target.path]
        shown = trimmed(target.path, content, target)
        user = prompts.rewrite_prompt(task, target.path, shown, target.symbol, target.new)
        system = prompts.REWRITE_SYSTEM + json_note
        conversation = [Message("system", system), Message("user", user)]
        for turn in range(2):
            warmth = RETRY_TEMPERATURE if turn else 0.0
            answer = await ask(conversation, Rewrite if bound else None, warmth)
            code = code_of(answer, Rewrite)
            after, error = "", "the answer holds no code"
            if code is not None:
                after, error = check_rewrite(content, target, code)
            if not error:
                files[target.path] = after
                out.landed.append(f"{target.path} {target.symbol}")
                written.append((target.path, definition(target.path, after, target.symbol)))
                break
            if turn == 1:
                out.failed.append(f"{target.path} {target.symbol}: {error[:200]}")
                break
            conversation += [
                Message("assistant", answer),
                Message("user", prompts.rewrite_retry(target.symbol, error)),
            ]
    if not written:
        return
    test_path = file_of_tests(files, chosen[0])
    if not test_path:
        return
    new = [t.symbol.rsplit(".", 1)[-1] for t in chosen if t.new and t.path in dict(written)]
    user = prompts.test_prompt(task, written, test_path, files[test_path], new)
    asked = [Message("system", prompts.TEST_SYSTEM + json_note), Message("user", user)]
    answer = await ask(asked, NewTest if bound else None)
    code = code_of(answer, NewTest)
    if code is not None:
        after, error = check_test(test_path, files[test_path], code)
        if not error:
            for target in (t for t in chosen if t.new and t.path in dict(written)):
                name = target.symbol.rsplit(".", 1)[-1]
                after = with_imports(test_path, after, target.path, [name])
            files[test_path] = after
            out.test_kept = True
            out.landed.append(f"{test_path} (new test)")


def hidden_test(task: AgentTask, repo: Path) -> bool:
    for name, text in task.hidden_files().items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    try:
        done = subprocess.run(
            ["unshare", "-rn", *task.hidden_test],
            cwd=repo,
            capture_output=True,
            timeout=HIDDEN_TIMEOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo)},
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


async def run_task(task: AgentTask, fmt: str, llm: OpenAiClient, budget: int) -> Outcome:
    out = Outcome(task.id)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"eval-{task.id}-") as scratch:
        repo = Path(scratch) / "repo"
        make_repo(task, repo)
        coding = CodingTask(goal=task.goal, plan_markdown="", attempt=1)
        files = localized(coding, task.repo_files())
        out.files = dict(files)
        ask = Asker(llm, out)
        if fmt == "edits":
            await edits_format(ask, coding, files, budget, out)
        else:
            await symbol_format(ask, coding, files, out, bound=fmt == "symbol-json", budget=budget)
        for path, text in files.items():
            if out.files.get(path) != text:
                (repo / path).parent.mkdir(parents=True, exist_ok=True)
                (repo / path).write_text(text, encoding="utf-8")
        out.solved = await asyncio.to_thread(hidden_test, task, repo)
    out.seconds = time.perf_counter() - started
    return out


def row(out: Outcome) -> str:
    tokens = out.prompt_tokens + out.completion_tokens
    what = "; ".join(out.landed) or "-"
    why = f"  FAILED {' | '.join(out.failed)}" if out.failed else ""
    return (
        f"{out.task:<28} {'SOLVED' if out.solved else 'no':<6} {tokens:>6} tok {out.calls} calls "
        f"{out.seconds:6.1f} s  landed: {what}{why}"
    )


async def evaluate(args: argparse.Namespace, tasks: list[AgentTask]) -> list[Outcome]:
    models = Path(args.models_dir)
    model = resolve_model(LocalModelConfig(size=args.size), models)
    key = secrets.token_urlsafe(16)
    with start(model, models / "eval-server.log", ServerOptions(api_key=key)) as server:
        settings = LlmSettings(
            openai_base_url=server.openai_base_url,
            openai_api_key=SecretStr(key),
            bdg_model_coder=server.model,
            bdg_llm_context_tokens=server.context_tokens,
        )
        budget = limits_for_context(server.context_tokens).context_chars
        llm = OpenAiClient(settings)
        print(f"model {server.model}, format {args.format}, {len(tasks)} task(s)", flush=True)
        outcomes = []
        try:
            for task in tasks:
                out = await run_task(task, args.format, llm, budget)
                print(row(out), flush=True)
                outcomes.append(out)
                if args.capture:
                    capture(Path(args.capture), args.format, server.model, out)
        finally:
            await llm.close()
    return outcomes


def capture(folder: Path, fmt: str, model: str, out: Outcome) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "task": out.task,
        "format": fmt,
        "model": f"{model} (offline, temperature 0, seed fixed)",
        "captured": "uv run python -m bench.pipeline_eval",
        "files": out.files,
        "calls": out.answers,
        "solved": out.solved,
    }
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    (folder / f"{out.task}-{fmt}.json").write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--format", choices=FORMATS, default="symbol")
    parser.add_argument("--tasks", default="")
    parser.add_argument("--split", choices=("dev", "heldout"), default="dev")
    parser.add_argument("--size", choices=("0.5b", "1.5b"), default="0.5b")
    parser.add_argument("--models-dir", default=".bdg/models")
    parser.add_argument("--capture", default="", help="write each task's prompts and answers")
    args = parser.parse_args(argv)
    try:
        tasks = chosen_tasks(load_tasks(), args.tasks, args.split)
    except ValueError as error:
        print(f"pipeline_eval: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    outcomes = asyncio.run(evaluate(args, tasks))
    solved = sum(o.solved for o in outcomes)
    tokens = sum(o.prompt_tokens + o.completion_tokens for o in outcomes)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"solved {solved}/{len(outcomes)} ({args.format}, {args.size}), {tokens} tokens, "
        f"{time.perf_counter() - started:.0f} s, load average {load}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
