"""``issues`` webhooks of GitHub and Gitea: which issue, which action, does it start a job.

Pure: a ``Delivery`` and the raw body in, values out; ``issue_webhook`` does the I/O. Read as the
providers document them: GitHub's ``issues`` event (actions ``opened``, ``labeled`` with the
``label`` that was added; docs.github.com "Webhook events and payloads", section "issues"), and
Gitea's, which sends ``X-Gitea-Event: issues`` for issue and issue-label events, with actions
``opened`` and ``label_updated`` and the issue's labels in ``issue.labels``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bdg_contracts.text import unstorable
from bdg_gateway import webhook_payloads as wp

# GitHub: "opened" (labels chosen while opening are in issue.labels) and "labeled".
# Gitea: "opened" and "label_updated" (a label added or removed: issue.labels is the result).
STARTING_ACTIONS = {"github": ("opened", "labeled"), "gitea": ("opened", "label_updated")}
# Owner and repository names as both hosts allow them: they go into the comments API's path.
_FULL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
MAX_ISSUE_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class Issue:
    provider: wp.ProviderName
    delivery_id: str
    action: str
    number: int
    title: str
    body: str
    labels: tuple[str, ...]
    full_name: str  # owner/repo, as the comments API names the repository
    urls: tuple[str, ...]  # every URL the payload gives the repository

    @property
    def goal(self) -> str:
        """The job's goal: the title, then the body (validated as any goal, where it is used)."""
        return f"{self.title}\n\n{self.body}".strip()

    def lookup_urls(self) -> list[str]:
        return list(dict.fromkeys([*self.urls, *(u.lower() for u in self.urls)]))


def is_issue_event(delivery: wp.Delivery) -> bool:
    return delivery.provider in STARTING_ACTIONS and delivery.event == "issues"


def parse_issue(delivery: wp.Delivery, body: bytes, content_type: str) -> Issue:
    payload = wp._json_object(body, content_type)
    issue = wp._object(payload, "issue")
    repository = wp._object(payload, "repository")
    action = wp._text(payload, "action", required=True)
    number = issue.get("number")
    if type(number) is not int or not 0 < number <= MAX_ISSUE_NUMBER:
        raise wp.WebhookError("'issue.number' must be a positive integer")
    title = issue.get("title")
    if not isinstance(title, str) or not title.strip():
        raise wp.WebhookError("'issue.title' must be a non-empty string")
    text = issue.get("body") or ""  # GitHub sends null for an issue without a body
    if not isinstance(text, str):
        raise wp.WebhookError("'issue.body' must be a string or null")
    for name, value in (("issue.title", title), ("issue.body", text)):
        problem = unstorable(value)
        if problem is not None:
            raise wp.WebhookError(f"'{name}' {problem}")
    full_name = wp._text(repository, "full_name", required=True, where="repository")
    if not _FULL_NAME.match(full_name) or ".." in full_name:
        raise wp.WebhookError("'repository.full_name' must be owner/name")
    urls = wp._urls(repository, "clone_url", "html_url", "ssh_url", "git_url")
    if not urls:
        raise wp.WebhookError("the payload names no repository URL")
    return Issue(
        provider=delivery.provider,
        delivery_id=wp._delivery_id(delivery, body),
        action=action,
        number=number,
        title=title.strip(),
        body=text.strip(),
        labels=_labels(issue.get("labels")),
        full_name=full_name,
        urls=urls,
    )


def not_starting(issue: Issue, label: str) -> str | None:
    """Why this delivery starts no job for a tenant whose trigger label is ``label``; None
    when it starts one."""
    if issue.action not in STARTING_ACTIONS[issue.provider]:
        return f"issue action {issue.action!r} starts no job"
    if label.casefold() not in {name.casefold() for name in issue.labels}:
        return f"issue #{issue.number} does not carry the label {label!r}"
    return None


def _labels(labels: Any) -> tuple[str, ...]:
    if not isinstance(labels, list):
        return ()
    names = (label.get("name") for label in labels if isinstance(label, dict))
    return tuple(name for name in names if isinstance(name, str) and unstorable(name) is None)
