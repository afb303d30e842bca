"""Issue webhooks read as GitHub ("Webhook events and payloads", section "issues") and Gitea
(``X-Gitea-Event: issues``) document them; which deliveries start a job; the comment each event
earns; the trigger configuration. Pure: no I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from bdg_contracts import events as ev
from bdg_gateway import issue_payloads as ip
from bdg_gateway import webhook_payloads as wp
from bdg_gateway.issue_comments import comment_for, request_for
from bdg_gateway.issue_jobs import IssueLink, job_id_for
from bdg_gateway.issue_settings import IssueTriggerError, load_triggers
from tests.issue_samples import TITLE, gitea_issue, github_issue
from tests.webhook_samples import SECRET, encoded, headers


def parsed(provider: wp.ProviderName, payload: dict[str, Any]) -> ip.Issue:
    body = encoded(payload)
    delivery = wp.delivery_of(headers(provider, body, SECRET, event="issues"))
    assert ip.is_issue_event(delivery)
    return ip.parse_issue(delivery, body, "application/json")


def test_a_github_issue_is_read() -> None:
    issue = parsed("github", github_issue())
    assert (issue.provider, issue.action, issue.number) == ("github", "opened", 1)
    assert issue.full_name == "Codertocat/Hello-World"
    assert issue.goal == f"{TITLE}\n\nNotes survive a reload."
    assert issue.labels == ("bdg",)
    assert "https://github.com/Codertocat/Hello-World.git" in issue.urls


def test_a_gitea_issue_is_read_and_a_null_github_body_is_empty() -> None:
    issue = parsed("gitea", gitea_issue())
    assert (issue.provider, issue.number, issue.full_name) == ("gitea", 3, "gitea/webhooks")
    assert parsed("github", github_issue(body=None)).goal == TITLE


@pytest.mark.parametrize(
    ("provider", "payload", "why"),
    [
        ("github", github_issue(), None),
        ("github", github_issue(action="labeled"), None),
        ("github", github_issue(labels=("BDG", "bug")), None),
        ("github", github_issue(labels=("bug",)), "does not carry the label 'bdg'"),
        ("github", github_issue(action="edited"), "'edited' starts no job"),
        ("github", github_issue(action="closed"), "'closed' starts no job"),
        ("gitea", gitea_issue(), None),
        ("gitea", gitea_issue(action="label_updated"), None),
        ("gitea", gitea_issue(labels=()), "does not carry the label 'bdg'"),
        ("gitea", gitea_issue(action="labeled"), "'labeled' starts no job"),
    ],
)
def test_which_deliveries_start_a_job(
    provider: wp.ProviderName, payload: dict[str, Any], why: str | None
) -> None:
    reason = ip.not_starting(parsed(provider, payload), "bdg")
    assert reason == why if why is None else why in (reason or "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["issue"].update(number="1"), "'issue.number' must be a positive integer"),
        (lambda p: p["issue"].update(number=0), "'issue.number' must be a positive integer"),
        (lambda p: p["issue"].update(number=True), "'issue.number' must be a positive integer"),
        (lambda p: p["issue"].update(title="  "), "'issue.title' must be a non-empty string"),
        (lambda p: p["issue"].update(body=7), "'issue.body' must be a string or null"),
        (lambda p: p["issue"].update(body="a\x00b"), "'issue.body' contains a NUL"),
        (lambda p: p["repository"].update(full_name="../x"), "'repository.full_name'"),
        (lambda p: p["repository"].update(full_name="a/b/c"), "'repository.full_name'"),
        (lambda p: p.pop("issue"), "lacks the object 'issue'"),
        (lambda p: p.pop("action"), "'action' must be a non-empty string"),
    ],
)
def test_a_malformed_issue_names_the_field(change: Any, message: str) -> None:
    payload = github_issue()
    change(payload)
    with pytest.raises(wp.WebhookError, match=message.replace("(", r"\(")):
        parsed("github", payload)


def test_one_job_per_issue_and_registration() -> None:
    repo = uuid4()
    opened = parsed("github", github_issue())
    labeled = parsed("github", github_issue(action="labeled"))
    assert job_id_for(repo, opened) == job_id_for(repo, labeled)
    assert job_id_for(repo, opened) != job_id_for(uuid4(), opened)
    assert job_id_for(repo, opened) != job_id_for(repo, parsed("github", github_issue(number=2)))


def _event(cls: type[ev.Event], **fields: Any) -> ev.Event:
    return cls(
        job_id=uuid4(), version=2, correlation_id="c", tenant_id="t", producer="p",
        occurred_at=datetime.now(UTC), **fields,
    )  # fmt: skip


def test_the_comment_each_event_earns() -> None:
    plan = comment_for(_event(ev.PlanReady, plan_markdown="## Plan\n- notes in IndexedDB"))
    assert plan is not None
    assert plan.endswith("## Plan\n- notes in IndexedDB")
    results = ev.TestResults(total=12, failed=0, coverage=91.25)
    passed = comment_for(_event(ev.TestsPassed, attempt=1, results=results))
    assert passed is not None
    assert "tests passed" in passed
    assert "12 of 12 passed, coverage 91.2%" in passed
    bad = ev.TestResults(total=12, failed=2, output_tail="FAIL src/App.test.tsx")
    failed = comment_for(_event(ev.TestsFailed, attempt=2, results=bad, analysis="offline fails"))
    assert failed is not None
    assert "tests failed** (attempt 2): 10 of 12 passed" in failed
    assert "offline fails" in failed
    assert "FAIL src/App.test.tsx" in failed
    checked = ev.TestResults(total=1, browser="browser check of dist passed", screenshot="b" * 64)
    shown = _event(ev.TestsPassed, attempt=1, results=checked)
    comment = comment_for(shown)
    assert comment is not None
    assert comment.endswith(
        f"browser check of dist passed (screenshot: `/jobs/{shown.job_id}/screenshots/{'b' * 64}`)"
    )
    linked = comment_for(shown, "https://bdg.example/")
    assert linked is not None
    assert linked.endswith(
        f"browser check of dist passed ([screenshot](https://bdg.example/jobs/{shown.job_id}/"
        f"screenshots/{'b' * 64}), shown on the [job's page]"
        f"(https://bdg.example/app/jobs/{shown.job_id}))"
    )
    waiting = comment_for(
        _event(ev.DeployAwaitingApproval, target="production", preview="http://p")
    )
    assert waiting is not None
    assert "Preview: http://p" in waiting
    deployed = comment_for(_event(ev.Deployed, url="https://app.example"))
    assert deployed is not None
    assert "deployed** at https://app.example" in deployed
    pr = "https://github.com/o/r/pull/9"
    branch = ev.DeliveredBranch(repository="/d/r.git", branch="bdg/1", commit="f" * 40)
    only = comment_for(_event(ev.Deployed, url="file:///d/r.git#bdg/1", branch=branch))
    assert only == "**BigDaddyG: delivered as branch `bdg/1`** in /d/r.git (no site to publish)"
    with_pr = branch.model_copy(update={"pull_request": pr})
    pull = comment_for(_event(ev.Deployed, url=pr, branch=with_pr))
    assert (
        pull
        == f"**BigDaddyG: delivered as branch `bdg/1`**: pull request {pr} (no site to publish)"
    )
    rolled = comment_for(_event(ev.RolledBack, to_url="https://old.example"))
    assert rolled == "**BigDaddyG: rolled back** to https://old.example"
    failed_step = comment_for(
        _event(ev.StepFailed, step="deploying", service="deployer", reason="edge 502",
               failed_event_version=1)
    )  # fmt: skip
    assert failed_step == "**BigDaddyG: the deploying step failed**\n\nedge 502"
    assert comment_for(_event(ev.PlanApproved, approved_by="u")) is None
    huge = comment_for(_event(ev.PlanReady, plan_markdown="x" * 100_000))
    assert huge is not None
    assert len(huge) == 60_000


def test_the_documented_request_of_each_host() -> None:
    link = IssueLink("t", "github", "o/r", 5)
    url, sent = request_for("github", "https://api.github.com", "tok", link)
    assert url == "https://api.github.com/repos/o/r/issues/5/comments"
    assert sent["Authorization"] == "Bearer tok"
    assert sent["Accept"] == "application/vnd.github+json"
    assert sent["X-GitHub-Api-Version"] == "2022-11-28"
    url, sent = request_for("gitea", "https://git.example/api/v1", "tok", link)
    assert url == "https://git.example/api/v1/repos/o/r/issues/5/comments"
    assert sent["Authorization"] == "token tok"


def test_trigger_configuration(tmp_path: Path) -> None:
    path = tmp_path / "issues.json"
    path.write_text(json.dumps({"acme": {"label": "agent", "github": {"token": "ghp_secret"}}}))
    triggers = load_triggers(str(path))
    acme = triggers.for_tenant("acme")
    assert acme is not None
    assert acme.label == "agent"
    assert acme.api_url("github") == "https://api.github.com"
    assert acme.api_url("gitea") is None
    assert "ghp_secret" not in repr(triggers)
    assert "ghp_secret" not in str(triggers.model_dump())
    assert load_triggers("").tenants == {}
    path.write_text(json.dumps({"acme": {"gitea": {"token": "x"}}}))
    with pytest.raises(IssueTriggerError, match=r"acme\.gitea needs an api_url"):
        load_triggers(str(path))
    path.write_text(json.dumps({"acme": {"github": {"token": ""}}}))
    with pytest.raises(IssueTriggerError, match=r"acme\.github\.token"):
        load_triggers(str(path))
