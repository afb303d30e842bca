"""Pure coding logic: what a coding attempt is given, and what it gives back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import singledispatch

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event


@dataclass(frozen=True)
class Patch:
    paths: tuple[str, ...]
    patch: str


@dataclass(frozen=True)
class Changes:
    """The outcome of one attempt: patches in the order they apply, and a summary.

    ``waiting`` names a gated tool call a person must decide first: then the attempt stops
    without a reaction, and the step runs again once the call is decided."""

    patches: tuple[Patch, ...]
    summary: str = ""
    waiting: str | None = None
    base_commit: str = ""  # what the workspace's base ref resolved to, when known
    chosen: int = 0  # the candidate kept, when several were compared
    compared: tuple[ev.CandidateOutcome, ...] = ()


@dataclass(frozen=True)
class Recipe:
    """How the attempt's workspace is built: the repository at a ref, then earlier patches."""

    repo: str = ""
    base_ref: str = "HEAD"
    patches: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parked:
    """What an earlier run of this same attempt recorded before it stopped short (a gated call,
    an outage): the code it was shown and the model's answers, which a new run takes again."""

    context: tev.CodeContextRetrieved | None = None
    calls: tuple[ev.LlmCalled, ...] = ()


@dataclass(frozen=True)
class CodingTask:
    goal: str
    plan_markdown: str
    attempt: int
    feedback: str = ""
    recipe: Recipe = Recipe()
    parked: Parked = Parked()


def workspace_name(job_id: object, attempt: int) -> str:
    """The sandbox workspace of one attempt: ``<job>-c<attempt>``."""
    return f"{job_id}-c{attempt}"


def pinned_base(history: Sequence[Event]) -> str:
    """The commit the first attempt built on ("" before that, or for a source without one)."""
    finished = (e for e in history if isinstance(e, ev.CodingFinished) and e.base_commit)
    return next((e.base_commit for e in finished), "")


def recipe_of(history: Sequence[Event]) -> Recipe:
    """repo@base from the job's request (the base pinned to the commit the first attempt
    built on, so a branch that moves meanwhile changes nothing), and every FilesChanged patch
    so far, in order."""
    request = next((e for e in history if isinstance(e, ev.JobRequested)), None)
    patches = tuple(e.patch for e in history if isinstance(e, ev.FilesChanged) and e.patch)
    if request is None:
        return Recipe(patches=patches)
    base = pinned_base(history) or request.base_ref or "HEAD"
    return Recipe(request.repo, base, patches)


def parked_of(history: Sequence[Event], trigger: Event, producer: str) -> Parked:
    """``producer``'s model calls and code context recorded after ``trigger`` under causes
    that are no event of the job (a tool call's id, a park id): a reaction names its trigger."""
    ids = {e.event_id for e in history}
    after = [
        e
        for e in history
        if e.version > trigger.version
        and e.producer == producer
        and e.causation_id is not None
        and e.causation_id not in ids
    ]
    contexts = [e for e in after if isinstance(e, tev.CodeContextRetrieved)]
    calls = tuple(e for e in after if isinstance(e, ev.LlmCalled))
    return Parked(contexts[0] if contexts else None, calls)


@singledispatch
def feedback_of(event: Event) -> str:
    """What the attempt should address: nothing for a fresh plan."""
    return ""


@feedback_of.register
def _(event: ev.TestsFailed) -> str:
    r = event.results
    head = f"attempt {event.attempt}: {r.headline()}"
    return "\n".join(part for part in (head, event.analysis, r.output_tail) if part)


@feedback_of.register
def _(event: ev.ReviewCompleted) -> str:
    return f"review rejected (score {event.score}): {event.notes}"


def needs_rework(review: ev.ReviewCompleted) -> bool:
    return not review.approved


MAX_QUERY_CHARS = 2_000


# A relative path with a source or config extension, as people write them in goals and plans
# ("src/slug.js", `pricing/cart.py`); not a URL, an absolute path, "e.g." or a version number.
_EXTENSIONS = (
    "py|pyi|js|mjs|cjs|ts|tsx|jsx|json|toml|yaml|yml|md|txt|cfg|ini|go|rs|java|kt|rb|php|c|h|"
    "cc|cpp|hpp|cs|css|scss|html|vue|svelte|sh|sql"
)
_NAMED_PATH = re.compile(
    rf"(?<![\w/.:-])((?:[\w.-]+/)*[\w.-]*\w\.(?:{_EXTENSIONS}))(?![\w/-])", re.IGNORECASE
)
MAX_NAMED_FILES = 3


def paths_named(goal: str, plan_markdown: str) -> list[str]:
    """Files the goal and the plan name, in order of first mention (at most MAX_NAMED_FILES):
    the coder shows their current content up front, so the model starts from the code."""
    found: list[str] = []
    for match in _NAMED_PATH.finditer(f"{goal}\n{plan_markdown}"):
        path = match.group(1)
        if path not in found and not path.startswith(".."):
            found.append(path)
    return found[:MAX_NAMED_FILES]


def query_of(goal: str, plan_markdown: str) -> str:
    """What the coder asks the indexer for: the goal and the plan."""
    return f"{goal}\n{plan_markdown}".strip()[:MAX_QUERY_CHARS]
