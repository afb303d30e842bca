"""Issue webhooks as GitHub ("Webhook events and payloads", section "issues") and Gitea
(``X-Gitea-Event: issues``) document them; read by tests/unit/test_issue_payloads.py and sent
by the gateway's issue tests (headers and signatures: tests/webhook_samples.py).
"""

from __future__ import annotations

from typing import Any

TITLE = "Create a React PWA that stores notes in IndexedDB and works offline"


def github_issue(
    owner: str = "Codertocat", action: str = "opened", labels: tuple[str, ...] = ("bdg",),
    number: int = 1, title: str = TITLE, body: str | None = "Notes survive a reload.",
    **top: Any,
) -> dict[str, Any]:  # fmt: skip
    full = f"{owner}/Hello-World"
    label_objects = [{"id": i, "name": n, "color": "d73a4a"} for i, n in enumerate(labels)]
    payload: dict[str, Any] = {
        "action": action,
        "issue": {
            "url": f"https://api.github.com/repos/{full}/issues/{number}",
            "html_url": f"https://github.com/{full}/issues/{number}",
            "id": 444500041,
            "number": number,
            "title": title,
            "user": {"login": owner, "id": 21031067, "type": "User"},
            "labels": label_objects,
            "state": "open",
            "body": body,
        },
        "repository": {
            "id": 186853002,
            "name": "Hello-World",
            "full_name": full,
            "owner": {"login": owner, "id": 21031067},
            "html_url": f"https://github.com/{full}",
            "url": f"https://api.github.com/repos/{full}",
            "git_url": f"git://github.com/{full}.git",
            "ssh_url": f"git@github.com:{full}.git",
            "clone_url": f"https://github.com/{full}.git",
            "default_branch": "main",
        },
        "sender": {"login": owner, "id": 21031067},
        **top,
    }
    if action == "labeled" and labels:
        payload["label"] = label_objects[-1]
    return payload


def gitea_issue(
    path: str = "gitea/webhooks", action: str = "opened", labels: tuple[str, ...] = ("bdg",),
    number: int = 3, title: str = TITLE, body: str = "Notes survive a reload.",
) -> dict[str, Any]:  # fmt: skip
    base = "http://localhost:3000"
    return {
        "action": action,
        "number": number,
        "issue": {
            "id": 12,
            "url": f"{base}/api/v1/repos/{path}/issues/{number}",
            "html_url": f"{base}/{path}/issues/{number}",
            "number": number,
            "user": {"id": 1, "login": "gitea"},
            "title": title,
            "body": body,
            "labels": [{"id": i, "name": n, "color": "ee0701"} for i, n in enumerate(labels)],
            "state": "open",
        },
        "repository": {
            "id": 140,
            "owner": {"id": 1, "login": "gitea", "username": "gitea"},
            "name": path.split("/")[1],
            "full_name": path,
            "html_url": f"{base}/{path}",
            "ssh_url": f"ssh://gitea@localhost:2222/{path}.git",
            "clone_url": f"{base}/{path}.git",
            "default_branch": "main",
        },
        "sender": {"id": 1, "login": "gitea"},
    }
