"""Push webhooks of GitHub, GitLab and Gitea read from payloads shaped as each one documents.

The samples follow the providers' documented examples (GitHub's push event, GitLab's Push Hook,
Gitea's push); the integration tests send the same ones through the gateway.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bdg_contracts import index_events as ix
from bdg_gateway import webhook_payloads as wp
from tests.webhook_samples import (
    AFTER,
    BEFORE,
    SAMPLES,
    SECRET,
    ZERO,
    encoded,
    gitea_push,
    github_push,
    gitlab_push,
    headers,
)


# -- who sent it ----------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
def test_the_provider_is_told_by_its_headers(provider: wp.ProviderName) -> None:
    body = encoded(SAMPLES[provider]())
    delivery = wp.delivery_of(headers(provider, body, delivery="d-1"))
    assert (delivery.provider, delivery.delivery_id, delivery.is_push) == (provider, "d-1", True)


def test_gitea_is_not_taken_for_github_although_it_sends_githubs_headers() -> None:
    body = encoded(gitea_push())
    delivery = wp.delivery_of(headers("gitea", body))
    assert delivery.provider == "gitea"
    assert delivery.credential == wp.sign("gitea", body, SECRET)  # hex, no prefix


def test_header_names_are_case_insensitive() -> None:
    lowered = {k.lower(): v for k, v in headers("github", b"{}", event="ping").items()}
    assert wp.delivery_of(lowered).is_ping


def test_a_request_of_no_known_provider_is_refused() -> None:
    with pytest.raises(wp.WebhookError, match="X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event"):
        wp.delivery_of({"Content-Type": "application/json", "X-Bitbucket-Event": "repo:push"})


@pytest.mark.parametrize(
    ("provider", "event", "push", "ping"),
    [
        ("github", "ping", False, True),
        ("github", "pull_request", False, False),
        ("gitlab", "Push Hook", True, False),
        ("gitlab", "Tag Push Hook", True, False),
        ("gitlab", "Merge Request Hook", False, False),
        ("gitea", "create", False, False),
        ("gitea", "delete", False, False),
    ],
)
def test_which_events_are_pushes(
    provider: wp.ProviderName, event: str, push: bool, ping: bool
) -> None:
    delivery = wp.delivery_of(headers(provider, b"{}", event=event))
    assert (delivery.is_push, delivery.is_ping) == (push, ping)


# -- is it authentic ------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
def test_the_secret_authenticates_a_delivery(provider: wp.ProviderName) -> None:
    body = encoded(SAMPLES[provider]())
    delivery = wp.delivery_of(headers(provider, body))
    assert wp.authentic(delivery, body, SECRET)
    assert not wp.authentic(delivery, body, "another secret")
    assert not wp.authentic(delivery, body, "")


@pytest.mark.parametrize("provider", ["github", "gitea"])
def test_a_signature_covers_every_byte_of_the_body(provider: wp.ProviderName) -> None:
    body = encoded(SAMPLES[provider]())
    delivery = wp.delivery_of(headers(provider, body))
    assert not wp.authentic(delivery, body.replace(b"refs/heads", b"refs/heaps"), SECRET)
    assert not wp.authentic(delivery, body + b" ", SECRET)


def test_github_signature_known_value() -> None:
    # GitHub's documented test vector: secret "It's a Secret to Everybody", body "Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert wp.sign("github", b"Hello, World!", "It's a Secret to Everybody") == expected


@pytest.mark.parametrize(
    ("provider", "credential"),
    [
        ("github", "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),  # no prefix
        ("github", "sha1=0123456789abcdef0123456789abcdef01234567"),
        ("gitea", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
        ("github", "sha256=ü"),
        ("gitlab", "It's a Secret to Everybod"),
        ("gitlab", "It's a Secret to Everybody "),
    ],
)
def test_wrong_forms_of_the_credential_are_refused(
    provider: wp.ProviderName, credential: str
) -> None:
    delivery = wp.Delivery(provider, "push", "d", credential)
    assert not wp.authentic(delivery, b"Hello, World!", "It's a Secret to Everybody")


def test_an_unsigned_delivery_is_never_authentic() -> None:
    body = encoded(github_push())
    delivery = wp.delivery_of(headers("github", body, secret=""))
    assert delivery.credential == ""
    assert not wp.authentic(delivery, body, SECRET)


# -- what push ------------------------------------------------------------------------------
def test_github_push() -> None:
    body = encoded(github_push())
    push = wp.parse_push(wp.delivery_of(headers("github", body, delivery="gh-1")), body)
    assert push.event_fields() == {
        "provider": "github", "delivery_id": "gh-1", "ref": "refs/heads/main", "before": BEFORE,
        "after": AFTER, "pusher": "Codertocat",
    }  # fmt: skip
    assert push.urls == (
        "https://github.com/Codertocat/Hello-World.git",
        "https://github.com/Codertocat/Hello-World",
        "git@github.com:Codertocat/Hello-World.git",
        "git://github.com/Codertocat/Hello-World.git",
    )
    assert (push.default_branch, push.deleted) == ("main", False)
    # The clone URL and the web URL are one repository, whichever was registered.
    assert ix.repo_id("acme", push.urls[0]) == ix.repo_id("acme", push.urls[1])
    assert "https://github.com/codertocat/hello-world" in push.lookup_urls()


def test_gitlab_push() -> None:
    body = encoded(gitlab_push())
    push = wp.parse_push(wp.delivery_of(headers("gitlab", body, delivery="gl-1")), body)
    assert (push.provider, push.delivery_id, push.ref) == ("gitlab", "gl-1", "refs/heads/master")
    assert (push.before, push.after, push.pusher) == (BEFORE, AFTER, "jsmith")
    assert push.urls[:3] == (
        "https://gitlab.example.com/mike/diaspora.git",
        "git@gitlab.example.com:mike/diaspora.git",
        "https://gitlab.example.com/mike/diaspora",
    )
    assert push.default_branch == "master"


def test_gitlab_indexes_the_checked_out_commit() -> None:
    tag_object = "a" * 40  # an annotated tag's "after" is the tag object, not a commit
    body = encoded(gitlab_push(ref="refs/tags/v1.0", after=tag_object, checkout_sha=AFTER))
    push = wp.parse_push(wp.delivery_of(headers("gitlab", body, event="Tag Push Hook")), body)
    assert push.after == AFTER


def test_gitea_push() -> None:
    body = encoded(gitea_push())
    push = wp.parse_push(wp.delivery_of(headers("gitea", body, delivery="gt-1")), body)
    assert (push.provider, push.delivery_id, push.ref) == ("gitea", "gt-1", "refs/heads/develop")
    assert (push.before, push.after, push.pusher) == (BEFORE, AFTER, "gitea")
    assert push.urls == (
        "http://localhost:3000/gitea/webhooks.git",
        "http://localhost:3000/gitea/webhooks",
        "ssh://gitea@localhost:2222/gitea/webhooks.git",
    )
    assert push.default_branch == "develop"


def test_gitea_pusher_falls_back_to_username() -> None:
    body = encoded(gitea_push(pusher={"id": 1, "username": "old-gitea"}))
    assert wp.parse_push(wp.delivery_of(headers("gitea", body)), body).pusher == "old-gitea"


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
def test_a_new_branch_has_no_before(provider: wp.ProviderName) -> None:
    body = encoded(SAMPLES[provider](before=ZERO))
    push = wp.parse_push(wp.delivery_of(headers(provider, body)), body)
    assert (push.before, push.after, push.deleted) == (None, AFTER, False)


@pytest.mark.parametrize(
    ("provider", "changes"),
    [
        ("github", {"after": ZERO, "deleted": True, "head_commit": None}),
        ("github", {"after": ZERO}),
        ("gitlab", {"after": ZERO, "checkout_sha": None}),
        ("gitea", {"after": ZERO}),
    ],
)
def test_a_deleted_branch_is_a_deletion(provider: wp.ProviderName, changes: dict[str, Any]) -> None:
    body = encoded(SAMPLES[provider](**changes))
    push = wp.parse_push(wp.delivery_of(headers(provider, body)), body)
    assert push.deleted
    assert wp.ignored(push, "HEAD") == f"{push.ref} was deleted"


def test_sha256_repositories_are_accepted() -> None:
    long_sha = "ab" * 32
    body = encoded(github_push(after=long_sha))
    assert wp.parse_push(wp.delivery_of(headers("github", body)), body).after == long_sha


def test_a_form_encoded_github_delivery() -> None:
    payload = json.dumps(github_push())
    body = urlencode({"payload": payload}).encode()
    delivery = wp.delivery_of(headers("github", body))
    push = wp.parse_push(delivery, body, "application/x-www-form-urlencoded; charset=utf-8")
    assert push.after == AFTER
    assert wp.authentic(delivery, body, SECRET)  # signed over the form body as sent


def test_gitlab_without_an_event_uuid_is_named_by_its_body() -> None:
    body = encoded(gitlab_push())
    sent = {k: v for k, v in headers("gitlab", body).items() if k != "X-Gitlab-Event-UUID"}
    push = wp.parse_push(wp.delivery_of(sent), body)
    again = wp.parse_push(wp.delivery_of(sent), body)
    assert push.delivery_id == again.delivery_id
    assert push.delivery_id.startswith("body-sha256:")


@pytest.mark.parametrize("provider", ["github", "gitea"])
def test_a_missing_delivery_id_is_refused(provider: wp.ProviderName) -> None:
    body = encoded(SAMPLES[provider]())
    sent = {k: v for k, v in headers(provider, body).items() if "Delivery" not in k}
    with pytest.raises(wp.WebhookError, match="Delivery header is missing"):
        wp.parse_push(wp.delivery_of(sent), body)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (encoded({**github_push(), "repository": None}), "lacks the object 'repository'"),
        (encoded({k: v for k, v in github_push().items() if k != "ref"}), "'ref' must be"),
        (encoded(github_push(after="0d1a26e")), "'after' must be a full commit SHA"),
        (encoded(github_push(after=AFTER.upper())), "'after' must be a full commit SHA"),
        (encoded(github_push(before=None)), "'before' must be a full commit SHA"),
        (encoded(github_push(repository={"default_branch": "main"})), "no repository URL"),
        (encoded(github_push(repository={"clone_url": "x", "default_branch": 3})), "default_"),
    ],
)
def test_malformed_payloads_name_their_problem(body: bytes, problem: str) -> None:
    delivery = wp.delivery_of(headers("github", body))
    with pytest.raises(wp.WebhookError, match=problem):
        wp.parse_push(delivery, body)


def test_gitlab_payload_needs_its_project() -> None:
    body = encoded({k: v for k, v in gitlab_push().items() if k != "project"})
    with pytest.raises(wp.WebhookError, match="'project'"):
        wp.parse_push(wp.delivery_of(headers("gitlab", body)), body)


def test_gitlab_checkout_sha_must_be_a_commit_or_null() -> None:
    body = encoded(gitlab_push(checkout_sha="main"))
    with pytest.raises(wp.WebhookError, match="checkout_sha"):
        wp.parse_push(wp.delivery_of(headers("gitlab", body)), body)


# -- does it concern a registration ---------------------------------------------------------
@pytest.mark.parametrize(
    ("registered", "default", "followed"),
    [
        ("HEAD", "main", "refs/heads/main"),
        ("main", "trunk", "refs/heads/main"),
        ("release/2.x", "main", "refs/heads/release/2.x"),
        ("refs/tags/v1.0", "main", "refs/tags/v1.0"),
        ("HEAD", "", ""),
    ],
)
def test_the_ref_a_registration_follows(registered: str, default: str, followed: str) -> None:
    assert wp.tracked_ref(registered, default) == followed


def test_a_push_to_another_branch_is_ignored() -> None:
    body = encoded(github_push(ref="refs/heads/feature/x"))
    push = wp.parse_push(wp.delivery_of(headers("github", body)), body)
    assert wp.ignored(push, "HEAD") == "a push to refs/heads/feature/x; the repository is " + (
        "indexed at refs/heads/main"
    )
    assert wp.ignored(push, "feature/x") is None
    assert wp.ignored(push, "refs/heads/feature/x") is None


def test_head_means_the_default_branch_the_payload_names() -> None:
    body = encoded(gitea_push())  # develop is Gitea's sample default branch
    push = wp.parse_push(wp.delivery_of(headers("gitea", body)), body)
    assert wp.ignored(push, "HEAD") is None
    assert wp.ignored(push, "main") is not None
