"""Push webhooks as GitHub, GitLab and Gitea send them, shaped as each one documents (GitHub's
push event, GitLab's Push Hook, Gitea's push): the payloads, their headers and signatures. The
unit tests read them (tests/unit/test_webhook_payloads.py) and the gateway's tests send them;
issue events are in tests/issue_samples.py.
"""

from __future__ import annotations

import json
from typing import Any

from bdg_gateway import webhook_payloads as wp

ZERO = "0" * 40
BEFORE, AFTER = (
    "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
)
SECRET = "s3cret-for-the-hook"


def github_push(owner: str = "Codertocat", name: str = "Hello-World", **top: Any) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": BEFORE,
        "after": AFTER,
        "repository": {
            "id": 186853002,
            "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
            "name": name,
            "full_name": f"{owner}/{name}",
            "private": False,
            "owner": {"name": owner, "login": owner, "id": 21031067, "type": "User"},
            "html_url": f"https://github.com/{owner}/{name}",
            "url": f"https://github.com/{owner}/{name}",
            "git_url": f"git://github.com/{owner}/{name}.git",
            "ssh_url": f"git@github.com:{owner}/{name}.git",
            "clone_url": f"https://github.com/{owner}/{name}.git",
            "default_branch": "main",
            "master_branch": "main",
            "pushed_at": 1557934929,
        },
        "pusher": {"name": owner, "email": "21031067+Codertocat@users.noreply.github.com"},
        "sender": {"login": owner, "id": 21031067, "type": "User", "site_admin": False},
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{owner}/{name}/compare/6113728f27ae...0d1a26e67d8f",
        "commits": [
            {
                "id": AFTER,
                "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
                "distinct": True,
                "message": "Update README.md",
                "timestamp": "2019-05-15T15:20:30-05:00",
                "url": f"https://github.com/{owner}/{name}/commit/{AFTER}",
                "author": {"name": owner, "email": "21031067+Codertocat@users.noreply.github.com"},
                "added": [],
                "removed": [],
                "modified": ["README.md"],
            }
        ],
        "head_commit": None,
        **top,
    }


def gitlab_push(path: str = "mike/diaspora", **top: Any) -> dict[str, Any]:
    host = "gitlab.example.com"
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": BEFORE,
        "after": AFTER,
        "ref": "refs/heads/master",
        "ref_protected": True,
        "checkout_sha": AFTER,
        "message": None,
        "user_id": 4,
        "user_name": "John Smith",
        "user_username": "jsmith",
        "user_email": "john@example.com",
        "user_avatar": "https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80",
        "project_id": 15,
        "project": {
            "id": 15,
            "name": "Diaspora",
            "description": "",
            "web_url": f"https://{host}/{path}",
            "avatar_url": None,
            "git_ssh_url": f"git@{host}:{path}.git",
            "git_http_url": f"https://{host}/{path}.git",
            "namespace": "Mike",
            "visibility_level": 0,
            "path_with_namespace": path,
            "default_branch": "master",
            "homepage": f"https://{host}/{path}",
            "url": f"git@{host}:{path}.git",
            "ssh_url": f"git@{host}:{path}.git",
            "http_url": f"https://{host}/{path}.git",
        },
        "repository": {
            "name": "Diaspora",
            "url": f"git@{host}:{path}.git",
            "description": "",
            "homepage": f"https://{host}/{path}",
            "git_http_url": f"https://{host}/{path}.git",
            "git_ssh_url": f"git@{host}:{path}.git",
            "visibility_level": 0,
        },
        "commits": [
            {
                "id": AFTER,
                "message": "fixed readme",
                "title": "fixed readme",
                "timestamp": "2012-01-03T23:36:29+02:00",
                "url": f"https://{host}/{path}/commit/{AFTER}",
                "author": {"name": "GitLab dev user", "email": "[REDACTED]"},
                "added": ["CHANGELOG"],
                "modified": ["app/controller/application.rb"],
                "removed": [],
            }
        ],
        "total_commits_count": 1,
        **top,
    }


def gitea_push(path: str = "gitea/webhooks", **top: Any) -> dict[str, Any]:
    base = "http://localhost:3000"
    return {
        "ref": "refs/heads/develop",
        "before": BEFORE,
        "after": AFTER,
        "compare_url": f"{base}/{path}/compare/{BEFORE}...{AFTER}",
        "commits": [
            {
                "id": AFTER,
                "message": "Webhooks Yay!",
                "url": f"{base}/{path}/commit/{AFTER}",
                "author": {"name": "Gitea", "email": "someone@gitea.io", "username": "gitea"},
                "committer": {"name": "Gitea", "email": "someone@gitea.io", "username": "gitea"},
                "timestamp": "2017-03-13T13:52:11-04:00",
            }
        ],
        "repository": {
            "id": 140,
            "owner": {"id": 1, "login": "gitea", "full_name": "Gitea", "username": "gitea"},
            "name": path.split("/")[1],
            "full_name": path,
            "description": "",
            "private": False,
            "fork": False,
            "html_url": f"{base}/{path}",
            "ssh_url": f"ssh://gitea@localhost:2222/{path}.git",
            "clone_url": f"{base}/{path}.git",
            "website": "",
            "stars_count": 0,
            "forks_count": 1,
            "watchers_count": 1,
            "open_issues_count": 7,
            "default_branch": "develop",
            "created_at": "2017-02-26T04:29:06-05:00",
            "updated_at": "2017-03-13T13:51:58-04:00",
        },
        "pusher": {
            "id": 1,
            "login": "gitea",
            "full_name": "Gitea",
            "email": "someone@gitea.io",
            "avatar_url": "https://localhost:3000/avatars/1",
            "username": "gitea",
        },
        "sender": {"id": 1, "login": "gitea", "full_name": "Gitea", "username": "gitea"},
        **top,
    }


def headers(
    provider: wp.ProviderName,
    body: bytes,
    secret: str = SECRET,
    delivery: str = "f6266f16-1bf3-46a5-9ea4-602e06ead473",
    event: str = "",
) -> dict[str, str]:
    """The headers each provider sends with a delivery (Gitea sends GitHub's and Gogs' too)."""
    credential = wp.sign(provider, body, secret) if secret else ""
    if provider == "github":
        found = {
            "X-GitHub-Event": event or "push",
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Hook-ID": "292430182",
            "X-Hub-Signature-256": credential,
        }
    elif provider == "gitlab":
        found = {
            "X-Gitlab-Event": event or "Push Hook",
            "X-Gitlab-Event-UUID": delivery,
            "X-Gitlab-Instance": "https://gitlab.example.com",
            "X-Gitlab-Token": credential,
        }
    else:
        found = {
            "X-Gitea-Event": event or "push",
            "X-Gitea-Delivery": delivery,
            "X-Gitea-Signature": credential,
            "X-Gogs-Event": event or "push",
            "X-GitHub-Event": event or "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": wp.sign("github", body, secret) if secret else "",
        }
    return {k: v for k, v in found.items() if v}


def encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, indent=2).encode()


SAMPLES = {"github": github_push, "gitlab": gitlab_push, "gitea": gitea_push}
