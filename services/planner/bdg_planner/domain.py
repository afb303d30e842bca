"""Pure planning logic: the critic loop's stop rule, the plan it settles on, review rounds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bdg_contracts.patch_files import file_sections
from bdg_contracts.source_kinds import is_test_path


@dataclass(frozen=True)
class Critique:
    score: int
    risks: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    # Why the critic gave no verdict (its answer was cut or unreadable); "" when it gave one.
    # Such a critique scores nothing: another draft would not make the critic answer.
    failure: str = ""


@dataclass(frozen=True)
class Review:
    approved: bool
    score: int
    notes: str = ""


@dataclass(frozen=True)
class DraftTask:
    """Input of one draft: the first one has no previous plan and no feedback."""

    goal: str
    iteration: int
    previous: str | None = None
    feedback: Critique | None = None
    context: str = ""  # the code retrieved for the goal, rendered (empty: none)


@dataclass(frozen=True)
class CritiqueTask:
    goal: str
    plan_markdown: str
    iteration: int


@dataclass(frozen=True)
class ReviewTask:
    goal: str
    plan_markdown: str
    round: int
    attempt: int
    change: str = ""  # the job's change: its FilesChanged patches, in order


def job_change(patches: Sequence[str]) -> str:
    """The job's whole change for the reviewer: every patch so far, the source files' diffs
    before the tests' (each kind in the order written). The review asks whether the code does
    the goal; a small model reads the start of a diff most closely, and a test written first
    had it judge the test as if it were the change."""
    sections = [s for p in patches if p.strip() for s in _files_of(p)]
    ordered = sorted(sections, key=lambda s: bool(s[0]) and is_test_path(s[0]))
    return "".join(text if text.endswith("\n") else text + "\n" for _, text in ordered)


def _files_of(patch: str) -> list[tuple[str, str]]:
    # A patch the reader cannot cut whole (text outside any file) stays one piece, unmoved.
    sections = file_sections(patch)
    return sections if "".join(t for _, t in sections) == patch else [("", patch)]


@dataclass(frozen=True)
class Iteration:
    """One turn of the loop: a draft and the critic's verdict on it."""

    number: int
    plan_markdown: str
    critique: Critique


@dataclass(frozen=True)
class CriticPolicy:
    threshold: int = 8
    max_iterations: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= 10:
            raise ValueError(f"threshold {self.threshold} is not a score (1..10)")
        if self.max_iterations < 1:
            raise ValueError("at least one iteration")

    def should_stop(self, iteration: int, critique: Critique) -> bool:
        """Stop when the critic is satisfied, cannot judge, or the iterations are spent."""
        return (
            self.meets_bar(critique) or bool(critique.failure) or iteration >= self.max_iterations
        )

    def meets_bar(self, critique: Critique) -> bool:
        """A plan only the critic's real verdict at or above the bar may be approved unseen."""
        return not critique.failure and critique.score >= self.threshold

    def recorded(self) -> dict[str, str]:
        """What the job records of the policy: what is not at its default."""
        found = {}
        if self.threshold != DEFAULT_POLICY.threshold:
            found["plan_score_threshold"] = str(self.threshold)
        if self.max_iterations != DEFAULT_POLICY.max_iterations:
            found["plan_max_iterations"] = str(self.max_iterations)
        return found

    @classmethod
    def from_recorded(cls, settings: Mapping[str, str]) -> CriticPolicy:
        """The policy a job recorded (the defaults where it recorded none)."""
        return cls(
            int(settings.get("plan_score_threshold", DEFAULT_POLICY.threshold)),
            int(settings.get("plan_max_iterations", DEFAULT_POLICY.max_iterations)),
        )


DEFAULT_POLICY = CriticPolicy()


def best_iteration(iterations: Sequence[Iteration]) -> Iteration:
    """The best-scored draft (a failed critique ranks below every verdict); on a tie the later
    one, which took more feedback in."""
    if not iterations:
        raise ValueError("the loop ran no iteration")
    return max(reversed(iterations), key=lambda it: (not it.critique.failure, it.critique.score))


def final_plan(iterations: Sequence[Iteration]) -> str:
    return best_iteration(iterations).plan_markdown


def review_round(review_reworks: int) -> int:
    """1 for the first review, 2 after one rework (the job allows one)."""
    return review_reworks + 1


def as_checklist(text: str) -> str:
    """A markdown task list: the model's checkboxes as they are, other list or text lines made
    into checkboxes (small models drift from the format), a line repeated right after itself
    kept once."""
    lines = without_repeats([line.rstrip() for line in text.strip().splitlines() if line.strip()])
    if any(line.lstrip().startswith(("- [ ]", "- [x]", "* [ ]")) for line in lines):
        return "\n".join(lines) + "\n"
    items = []
    for line in lines:
        stripped = line.strip().lstrip("-*0123456789.) ").strip()
        if stripped and not stripped.startswith("#"):
            items.append(f"- [ ] {stripped}")
    return "\n".join(items) + "\n" if items else ""


def without_repeats(lines: Sequence[str]) -> list[str]:
    """Each run of one line repeated back to back kept once. The 0.5B model, looping, wrote
    the same assert 27 times until its token cap; the plan (read by the critic, the coder and
    the reviewer, in a 4,096-token context) keeps the content, not the loop."""
    kept: list[str] = []
    for line in lines:
        if not kept or line != kept[-1]:
            kept.append(line)
    return kept
