"""Which events start work, and which step that work is.

Used to re-drive a job (resume, retry, reconcile): the latest trigger event that got no reaction
is published again.
"""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import Step

TRIGGERS: dict[type[Event], Step] = {
    ev.JobRequested: Step.planning,
    ev.PlanApproved: Step.coding,
    ev.TestsFailed: Step.coding,
    ev.CodingFinished: Step.testing,
    ev.TestsPassed: Step.reviewing,
    ev.ReviewCompleted: Step.deploying,
    ev.DeployApproved: Step.deploying,
    ev.RollbackRequested: Step.deploying,
}
