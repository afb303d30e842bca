"""The tool loop's decisions, apart from any I/O: when to stop, what the model is shown next,
and what the attempt's summary says.

One turn is one model call, whether its answer was a usable tool call or not; the loop stops
when the model calls ``finish``, when the turns reach ``max_steps``, when the model asks for its
last call again after being told it was not run (``MAX_REPEATS``), when the tokens spent
(prompt + completion of every call) reach ``token_budget``, or when a call waits for a person.
The conversation sent each turn is the system prompt, the task, and the turns so far, oldest
dropped first when it grows past ``context_chars``. Everything here is deterministic, so a
replay sends the same requests and finds the recorded answers by their hash.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from bdg_llm.api import Message


class Stop(enum.Enum):
    finished = "finished"
    step_limit = "step_limit"
    token_budget = "token_budget"
    waiting = "waiting"
    repeating = "repeating"


# Repeats of the last call, back to back, that end the attempt: the first is answered with a
# note; at temperature 0 a model that repeats the call after that note has, on the agent
# bench, repeated it until the step limit (the 0.5B model: the same file_write five times).
MAX_REPEATS = 2


@dataclass(frozen=True)
class LoopLimits:
    max_steps: int = 25
    token_budget: int = 200_000
    result_chars: int = 8_000  # a tool result shown to the model is cut to this
    context_chars: int = 60_000  # older turns are left out beyond this

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.token_budget < 1:
            raise ValueError("an attempt needs at least one step and one token")


@dataclass(frozen=True)
class Turn:
    answer: str  # the model's answer, as it gave it
    result: str  # what it is told back


@dataclass
class LoopState:
    limits: LoopLimits
    steps: int = 0
    tokens: int = 0
    turns: list[Turn] = field(default_factory=list)
    stop: Stop | None = None
    summary: str = ""  # the model's own, from finish
    waiting: str | None = None  # the gated call the job waits on
    last_call: tuple[str, str] | None = None  # (tool, arguments JSON) of the last call made
    repeated: int = 0  # repeats of ``last_call`` since it was made

    def stop_before_call(self) -> Stop | None:
        """Why no further model call may be made, if it may not."""
        if self.stop is not None:
            return self.stop
        if self.steps >= self.limits.max_steps:
            return Stop.step_limit
        if self.tokens >= self.limits.token_budget:
            return Stop.token_budget
        return None

    def spent(self, prompt_tokens: int, completion_tokens: int) -> None:
        """A model call was made (whatever its answer): one step, its tokens."""
        self.steps += 1
        self.tokens += prompt_tokens + completion_tokens

    def record(self, answer: str, result: str) -> None:
        self.turns.append(Turn(answer, cut(result, self.limits.result_chars)))

    def repeats(self, tool: str, arguments_json: str) -> bool:
        """The very call made last, again: its result is already in the conversation, and
        with nothing done in between it would be the same (small models loop like this)."""
        return self.last_call == (tool, arguments_json)

    def called(self, tool: str, arguments_json: str) -> None:
        self.last_call, self.repeated = (tool, arguments_json), 0

    def repeat(self) -> None:
        """The last call was asked for again (not run); enough of those end the attempt."""
        self.repeated += 1
        if self.repeated >= MAX_REPEATS:
            self.stop = Stop.repeating

    def finish(self, summary: str) -> None:
        self.stop, self.summary = Stop.finished, summary.strip()

    def wait(self, call_id: str) -> None:
        self.stop, self.waiting = Stop.waiting, call_id

    def end(self) -> Stop:
        """The reason the loop is over (a limit, unless something stopped it before)."""
        reason = self.stop_before_call()
        assert reason is not None, "the loop may go on"
        self.stop = reason
        return reason


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... cut: {len(text) - limit} more characters]"


def messages(system: str, task: str, turns: Sequence[Turn], context_chars: int) -> list[Message]:
    """The conversation for the next call: the latest turns that fit ``context_chars`` (the
    latest one always), after a note of how many were left out."""
    budget = context_chars - len(system) - len(task)
    kept: list[Turn] = []
    for turn in reversed(turns):
        size = len(turn.answer) + len(turn.result)
        if kept and size > budget:
            break
        kept.append(turn)
        budget -= size
    kept.reverse()
    out = [Message("system", system), Message("user", task)]
    left_out = len(turns) - len(kept)
    if left_out:
        out.append(Message("user", omitted_note(left_out)))
    for turn in kept:
        out += [Message("assistant", turn.answer), Message("user", turn.result)]
    return out


def omitted_note(count: int) -> str:
    what = "call and its result is" if count == 1 else "calls and their results are"
    return (
        f"[{count} earlier tool {what} left out to fit the context; read files again if you "
        "need them]"
    )


def summary_of(state: LoopState, paths: Sequence[str]) -> str:
    """The attempt's summary: the model's own when it finished, else why it stopped; and what
    changed."""
    changed = f"Changed: {', '.join(paths)}." if paths else "No files changed."
    if state.stop is Stop.finished:
        head = state.summary or "The model finished without a summary."
    elif state.stop is Stop.step_limit:
        head = (
            f"Stopped at the step limit ({state.limits.max_steps} model turns) before the "
            "model finished; the change is what was done so far."
        )
    elif state.stop is Stop.token_budget:
        head = (
            f"Stopped at the token budget ({state.tokens} of {state.limits.token_budget} "
            "tokens) before the model finished; the change is what was done so far."
        )
    elif state.stop is Stop.repeating:
        head = (
            f"Stopped when the model asked for its last call again {state.repeated} times in a "
            "row (it would change nothing); the change is what was done so far."
        )
    else:
        head = "Stopped while a tool call waits for a person's approval."
    return f"{head} {changed}"
