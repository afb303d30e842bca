"""One interface for every place a site can be published: the local edge and the clouds.

A provider turns a content-addressed artifact (a verified manifest and its blobs) into a
deployment with its own URL, and moves production traffic between deployments it made: promote,
instant rollback, and, where it has one, a staged canary. ``Capabilities`` says what it offers;
the deployer uses the best of it (a canary where there is one, a plain promote otherwise) and
never asks a provider for what it does not state.

Errors: ``ProviderAuthError`` (401/403, failed fast with the provider's own message) and
``ProviderError`` (anything else, after the retries of ``http.py``) become ``DeployFailed``.
``ProviderConfigError`` (an unknown provider, missing credentials) is raised before any build.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bdg_contracts.release_events import CanaryStage, ReleaseCounts
from bdg_deployer.providers.files import ArtifactFiles


class ProviderConfigError(Exception):
    """No such provider, or the tenant has no credentials for it: nothing is built."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider[:50] or "unknown"


class ProviderError(Exception):
    """The provider refused or failed; ``status`` is its HTTP status when it answered."""

    def __init__(self, provider: str, status: int | None, message: str) -> None:
        super().__init__(f"{provider}: {status or 'no answer'}: {message}")
        self.provider, self.status, self.message = provider, status, message


class ProviderAuthError(ProviderError):
    """401/403: the token is wrong or lacks a scope; retrying cannot help."""


@dataclass(frozen=True)
class Capabilities:
    preview: bool  # each deployment has its own URL before it gets production traffic
    aliases: bool  # a named URL can be pointed at a deployment
    instant_rollback: bool  # production goes back to an earlier deployment without a rebuild
    canary: bool  # staged share of production traffic (rolling release)
    split_testing: bool  # a fixed split between two published versions
    publish_is_live: bool = False  # publishing serves production at once (no promote step)


@dataclass(frozen=True)
class RunningCanary:
    """A canary the provider runs now: its deployment and the stage it is at (0-based)."""

    deployment_id: str
    stage: int


@dataclass(frozen=True)
class Published:
    deployment_id: str
    preview_url: str


class DeployTarget(Protocol):
    """A provider bound to one tenant's credentials and project."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def publish(self, release: str, files: ArtifactFiles, site: str = "") -> Published:
        """Upload what the provider lacks (by digest) and create a deployment, ready to serve.
        ``site`` is the site's DNS label (where the local edge serves it)."""

    async def promote(self, deployment_id: str, canary: bool = False) -> None:
        """Production serves ``deployment_id`` (no rebuild); ``canary``: it ends the running
        canary of that deployment by completing it."""

    async def roll_back(self, to_deployment_id: str) -> None:
        """Production serves ``to_deployment_id`` again, an earlier production deployment."""

    async def start_canary(self, deployment_id: str, stages: Sequence[CanaryStage]) -> None:
        """The canary gets the first stage's share (``capabilities.canary`` only)."""

    async def advance_canary(self, deployment_id: str, stage: int) -> None:
        """The canary gets stage ``stage``'s share."""

    async def serving(self) -> str | None:
        """The deployment serving production now, as the provider says (None: it cannot say);
        what a restarted deployer compares with the events."""

    async def canary_now(self) -> RunningCanary | None:
        """The canary the provider runs now (None: none, or no canary offered); what a
        restarted deployer compares with a canary's events."""

    async def counts(self, deployment_ids: dict[str, str]) -> dict[str, ReleaseCounts]:
        """Requests and errors per release (``{release: deployment_id}``) from the provider's
        own figures; empty when it has none (the client beacon then is the source)."""
