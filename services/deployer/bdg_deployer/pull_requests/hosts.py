"""Which git hosts a tenant's jobs are pushed to, with which token, and where the PR API is.

Read from a JSON file named by ``BDG_GIT_HOSTS`` (operator configuration, like
``BDG_ISSUE_TRIGGERS``), a list of hosts per tenant::

    {"acme": [{"kind": "github", "web_url": "https://github.com",
               "api_url": "https://api.github.com", "token": "ghp_..."},
              {"kind": "gitea", "web_url": "https://git.acme.internal",
               "api_url": "https://git.acme.internal/api/v1", "token": "...",
               "username": "bdg-bot"}]}

A job's clone URL is pushed to only when it lies under one of its tenant's ``web_url``
(``<web_url>/<owner>/<repo>[.git]``): the token goes to the host the operator named and to no
URL a job chose. Tokens are ``SecretStr`` (masked in any repr or log), never put in an event.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError

from bdg_runtime.reactions import StepError

SEGMENT = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class GitHostsError(ValueError):
    """The hosts file cannot be used (the deployer refuses to start)."""


class GitHost(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["github", "gitea", "gitlab"]
    web_url: HttpUrl  # where clone URLs live: https://github.com
    # the REST API: https://api.github.com, https://git.example/api/v1, https://gitlab.com/api/v4
    api_url: HttpUrl
    token: SecretStr = Field(min_length=1)
    # HTTP Basic user for git push: GitHub and GitLab take any with a token as password
    username: str = Field(default="x-access-token", min_length=1, max_length=100)


@dataclass(frozen=True)
class HostRepo:
    """A job's repository on a configured host: where to push and whose API to ask."""

    host: GitHost
    owner: str
    name: str
    clone_url: str

    @property
    def api(self) -> str:
        return str(self.host.api_url).rstrip("/")


class GitHosts(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenants: dict[str, list[GitHost]] = Field(default_factory=dict)

    def repo_of(self, tenant: str, url: str) -> HostRepo | None:
        """The configured host ``url`` lies under for ``tenant``; None when none does."""
        for host in self.tenants.get(tenant, []):
            prefix = str(host.web_url).rstrip("/") + "/"
            if not url.startswith(prefix):
                continue
            parts = url.removeprefix(prefix).removesuffix("/").split("/")
            if len(parts) != 2:
                continue
            owner, name = parts[0], parts[1].removesuffix(".git")
            if SEGMENT.fullmatch(owner) and SEGMENT.fullmatch(name) and name not in (".", ".."):
                return HostRepo(host, owner, name, url)
        return None


def load_hosts(path: str) -> GitHosts:
    """No file configured: no job is pushed anywhere (its branch stays in the deployer's clone)."""
    if not path:
        return GitHosts()
    try:
        return GitHosts(tenants=json.loads(Path(path).read_text()))
    except (OSError, ValueError) as error:
        if isinstance(error, ValidationError):
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"][1:])  # past "tenants"
            raise GitHostsError(f"BDG_GIT_HOSTS {path}: {where}: {first['msg']}") from None
        raise GitHostsError(f"BDG_GIT_HOSTS {path}: {error}") from None


class HostRefusedError(StepError):
    """The git host refused the push or the pull request (401/403, a validation error): the same
    request would be refused again, so the step fails at once with the host's words."""
