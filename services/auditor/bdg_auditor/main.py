"""Auditor service: signed audit trail, cost projections, budget caps (DESIGN.md section 2).

No job reactions yet: its issue comes later. Until then it runs the shared runtime with an
empty reaction list, so it still competes for the log follower (outbox relay, projections,
reconciler), watches the streams and reports whether a sandbox answers.
"""

from __future__ import annotations

from bdg_runtime import service
from bdg_runtime.reactions import AnyReaction

NAME = "auditor"


def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
    return []


def run() -> None:
    service.run(NAME, reactions)


if __name__ == "__main__":
    run()
