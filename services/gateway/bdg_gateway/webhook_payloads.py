"""Push webhooks of GitHub, GitLab and Gitea: who sent a request, is it authentic, what push.

Pure: headers and the raw body in, values out; ``webhook_routes`` does the I/O. Each provider is
read as its documentation describes it. Gitea also sends GitHub's headers (``X-GitHub-Event``,
``X-Hub-Signature-256``), so it is recognised by its own headers first.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard
from urllib.parse import parse_qs

from bdg_contracts.text import unstorable
from bdg_gateway import strict_json
from bdg_jobs.repo_commands import signature_matches

MAX_BODY_BYTES = 5 * 1024 * 1024
ProviderName = Literal["github", "gitlab", "gitea"]
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_MAX_DELIVERY_ID, _MAX_REF = 200, 500


class WebhookError(ValueError):
    """The request cannot be read as a push webhook (answered 400, nothing written)."""


@dataclass(frozen=True)
class Delivery:
    """What a request's headers say: the provider, its event, delivery id and credential."""

    provider: ProviderName
    event: str
    delivery_id: str
    credential: str  # the signature (GitHub, Gitea) or the token (GitLab); "" when unsigned

    @property
    def is_ping(self) -> bool:
        return self.provider == "github" and self.event == "ping"

    @property
    def is_push(self) -> bool:
        if self.provider == "gitlab":
            return self.event in ("Push Hook", "Tag Push Hook")
        return self.event == "push"

    @property
    def credential_header(self) -> str:
        return {
            "github": "X-Hub-Signature-256",
            "gitlab": "X-Gitlab-Token",
            "gitea": "X-Gitea-Signature",
        }[self.provider]


@dataclass(frozen=True)
class Push:
    provider: ProviderName
    delivery_id: str
    ref: str
    before: str | None  # None: a new branch (all zeros)
    after: str  # the commit to index; all zeros on a deletion
    deleted: bool
    urls: tuple[str, ...]  # every URL the payload gives the repository
    default_branch: str
    pusher: str

    def lookup_urls(self) -> list[str]:
        """The URLs to find registrations by: as sent, and lower-cased (the providers' paths
        are case-insensitive, and people type them in lower case). The secret still decides."""
        return list(dict.fromkeys([*self.urls, *(u.lower() for u in self.urls)]))

    def event_fields(self) -> dict[str, Any]:
        """The fields of ``RepoPushed``."""
        return {
            "provider": self.provider,
            "delivery_id": self.delivery_id,
            "ref": self.ref,
            "before": self.before,
            "after": self.after,
            "pusher": self.pusher,
        }


def delivery_of(headers: Mapping[str, str]) -> Delivery:
    """The provider by its event header (Gitea's before GitHub's, which Gitea sends too)."""
    h = {k.lower(): v.strip() for k, v in headers.items()}
    if "x-gitea-event" in h:
        return Delivery(
            "gitea", h["x-gitea-event"], h.get("x-gitea-delivery", ""),
            h.get("x-gitea-signature", ""),
        )  # fmt: skip
    if "x-gitlab-event" in h:
        # X-Gitlab-Event-UUID names the event; GitLab 17.4+ also sends Idempotency-Key.
        delivery = h.get("x-gitlab-event-uuid") or h.get("idempotency-key", "")
        return Delivery("gitlab", h["x-gitlab-event"], delivery, h.get("x-gitlab-token", ""))
    if "x-github-event" in h:
        return Delivery(
            "github", h["x-github-event"], h.get("x-github-delivery", ""),
            h.get("x-hub-signature-256", ""),
        )  # fmt: skip
    raise WebhookError(
        "not a push webhook of a known provider: no X-GitHub-Event, X-Gitlab-Event or "
        "X-Gitea-Event header"
    )


def authentic(delivery: Delivery, body: bytes, secret: str) -> bool:
    """The signature (or GitLab's token) holds for ``secret``, compared in constant time."""
    given = delivery.credential
    if not given or not secret or not given.isascii():
        return False
    if delivery.provider == "gitlab":
        return hmac.compare_digest(given.encode(), secret.encode())
    prefix = "sha256=" if delivery.provider == "github" else ""
    return signature_matches(secret, body, given, prefix)


def sign(provider: ProviderName, body: bytes, secret: str) -> str:
    """The credential header's value a provider sends (for tests and manual deliveries)."""
    if provider == "gitlab":
        return secret
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}" if provider == "github" else digest


def parse_push(delivery: Delivery, body: bytes, content_type: str = "application/json") -> Push:
    """A push payload, as JSON or (GitHub, Gitea) form-encoded ``payload=<json>``."""
    payload = _json_object(body, content_type)
    ref = _text(payload, "ref", required=True)
    before, after = _sha(payload, "before"), _sha(payload, "after")
    if delivery.provider == "gitlab":
        project = _object(payload, "project")
        urls = _urls(project, "git_http_url", "git_ssh_url", "web_url", "http_url", "ssh_url")
        default_branch = _text(project, "default_branch", where="project")
        pusher = _text(payload, "user_username")
        checkout = payload.get("checkout_sha")  # null on a deletion
        if checkout is not None and not (isinstance(checkout, str) and _SHA.match(checkout)):
            raise WebhookError("'checkout_sha' must be a full commit SHA or null")
        commit = checkout or after
        deleted = _zero(after)
    else:
        repository = _object(payload, "repository")
        urls = _urls(repository, "clone_url", "html_url", "ssh_url", "git_url")
        default_branch = _text(repository, "default_branch", where="repository")
        pusher = _pusher(delivery.provider, payload.get("pusher"))
        commit = after
        deleted = payload.get("deleted") is True or _zero(after)
    if not urls:
        raise WebhookError("the payload names no repository URL")
    return Push(
        provider=delivery.provider,
        delivery_id=_delivery_id(delivery, body),
        ref=ref,
        before=None if _zero(before) else before,
        after=commit,
        deleted=deleted,
        urls=urls,
        default_branch=default_branch,
        pusher=pusher[:200],
    )


def tracked_ref(registered: str, default_branch: str) -> str:
    """The full ref a registration follows: "HEAD" is the repository's default branch."""
    if registered == "HEAD":
        return f"refs/heads/{default_branch}" if default_branch else ""
    return registered if registered.startswith("refs/") else f"refs/heads/{registered}"


def ignored(push: Push, registered_ref: str) -> str | None:
    """Why this push does not concern a registration, or None when it does."""
    if push.deleted:
        return f"{push.ref} was deleted"
    target = tracked_ref(registered_ref, push.default_branch)
    if not target:
        return "the payload names no default branch, and the repository is indexed at HEAD"
    if push.ref != target:
        return f"a push to {push.ref}; the repository is indexed at {target}"
    return None


# -- reading the payload --------------------------------------------------------------------
def _json_object(body: bytes, content_type: str) -> dict[str, Any]:
    text: str | bytes = body
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"))
        if "payload" not in form:
            raise WebhookError("a form-encoded webhook needs a 'payload' field")
        text = form["payload"][0]
    try:
        payload = strict_json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookError(f"the body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise WebhookError("the payload is not a JSON object")
    return payload


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise WebhookError(f"the payload lacks the object '{key}'")
    return value


def _text(obj: dict[str, Any], key: str, required: bool = False, where: str = "") -> str:
    value = obj.get(key)
    name = f"{where}.{key}" if where else key
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise WebhookError(f"'{name}' must be a non-empty string")
    if len(value) > _MAX_REF:
        raise WebhookError(f"'{name}' is longer than {_MAX_REF} characters")
    problem = unstorable(value)
    if problem is not None:
        raise WebhookError(f"'{name}' {problem}")
    return value


def _storable(value: Any) -> TypeGuard[str]:
    """A non-empty string PostgreSQL can store (URLs are looked up in SQL, names recorded)."""
    return isinstance(value, str) and bool(value) and unstorable(value) is None


def _sha(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not _SHA.match(value):
        raise WebhookError(f"'{key}' must be a full commit SHA (40 or 64 lower-case hex digits)")
    return value


def _zero(sha: str) -> bool:
    return set(sha) == {"0"}


def _urls(obj: dict[str, Any], *keys: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for k in keys if _storable(v := obj.get(k))))


def _pusher(provider: ProviderName, pusher: Any) -> str:
    if not isinstance(pusher, dict):
        return ""
    keys = ("name",) if provider == "github" else ("login", "username")
    return next((v for k in keys if _storable(v := pusher.get(k))), "")


def _delivery_id(delivery: Delivery, body: bytes) -> str:
    if delivery.delivery_id:
        if len(delivery.delivery_id) > _MAX_DELIVERY_ID:
            raise WebhookError(f"the delivery id is longer than {_MAX_DELIVERY_ID} characters")
        return delivery.delivery_id
    if delivery.provider == "gitlab":
        # Older GitLab versions send no event UUID; a redelivery sends the same body.
        return "body-sha256:" + hashlib.sha256(body).hexdigest()
    header = "X-GitHub-Delivery" if delivery.provider == "github" else "X-Gitea-Delivery"
    raise WebhookError(f"the {header} header is missing")
