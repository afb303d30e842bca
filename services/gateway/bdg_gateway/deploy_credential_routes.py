"""A tenant admin's deploy provider credentials: set, list, remove. No token is ever answered.

``PUT /deploy/credentials/{provider}`` stores the token encrypted outside the event log
(``bdg_jobs.deploy_credentials``) with the provider's settings, and makes the provider serve the
tenant's sites of ``target`` (default ``production``; ``null``: stored, serving nothing). Every
field is checked here (a token of printable ASCII, ids and names that go into a provider's URL
paths as plain slugs); a field the provider does not use, or one it needs and lacks, is a 422
naming it, with nothing written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from bdg_contracts.base import Contract
from bdg_contracts.release_events import NAME
from bdg_gateway.deps import CurrentCaller, gateway_of
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_jobs.deploy_credentials import CredentialView, DeployCredentials, load_key
from bdg_jobs.user_commands import Caller
from bdg_runtime.settings import Settings

router = APIRouter(prefix="/deploy/credentials", tags=["deploy"], route_class=StrictJsonRoute)

Provider = Literal["vercel", "netlify", "cloudflare-pages"]
Token = Annotated[str, Field(min_length=8, max_length=4000, pattern=r"^[\x21-\x7e]+$")]
Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Host = Annotated[str, Field(max_length=200, pattern=r"^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$")]
Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Target = Annotated[str, Field(pattern=NAME)]
SETTINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (needed, optional)
    "vercel": (("project",), ("team_id", "alias_suffix")),
    "netlify": (("site_id",), ()),
    "cloudflare-pages": (("account_id", "project"), ("branch",)),
}


class SetDeployCredentials(Contract):
    token: Token = Field(description="the provider's API token: stored encrypted, never shown")
    target: Target | None = Field(default="production", description="the site target it serves")
    project: Slug | None = Field(default=None, description="Vercel project, Pages project")
    team_id: Slug | None = Field(default=None, description="Vercel team")
    alias_suffix: Host | None = Field(default=None, description="Vercel: <release>.<suffix>")
    site_id: Slug | None = Field(default=None, description="Netlify site")
    account_id: Hex32 | None = Field(default=None, description="Cloudflare account")
    branch: Slug | None = Field(default=None, description="Pages production branch")


class DeployCredentialsView(BaseModel):
    provider: str
    target: str | None
    settings: dict[str, str]
    updated_at: datetime

    @classmethod
    def of(cls, view: CredentialView) -> DeployCredentialsView:
        return cls(
            provider=view.provider,
            target=view.target,
            settings=view.settings,
            updated_at=view.updated_at,
        )


def _store(request: Request, caller: Caller) -> DeployCredentials:
    if not caller.admin:
        raise HTTPException(
            403, 'deploy credentials need a tenant admin (token claim roles: ["admin"])'
        )
    store: DeployCredentials | None = request.app.state.deploy_credentials
    if store is None:  # an app built without one: the key under BDG_HOME, as the deployer's
        pool = gateway_of(request.app).queries.pool
        store = DeployCredentials(pool.connection, load_key(Settings().bdg_home))
        request.app.state.deploy_credentials = store
    return store


def _settings(provider: str, body: SetDeployCredentials) -> dict[str, str]:
    needed, optional = SETTINGS[provider]
    given = body.model_dump(exclude={"token", "target"}, exclude_none=True)
    problems = [
        {"loc": ("body", name), "msg": f"required for {provider}", "type": "missing"}
        for name in needed
        if name not in given
    ] + [
        {"loc": ("body", name), "msg": f"not a setting of {provider}", "type": "extra_forbidden"}
        for name in given
        if name not in needed + optional
    ]
    if problems:
        raise RequestValidationError(problems)
    return {name: str(value) for name, value in given.items()}


@router.put("/{provider}")
async def set_credentials(
    provider: Provider, body: SetDeployCredentials, caller: CurrentCaller, request: Request
) -> DeployCredentialsView:
    """Set the tenant's token and settings for a provider (admin); the token is not answered."""
    store = _store(request, caller)
    settings = _settings(provider, body)
    await store.put(caller.tenant_id, provider, body.token, settings, body.target)
    views = await store.listed(caller.tenant_id)
    return DeployCredentialsView.of(next(v for v in views if v.provider == provider))


@router.get("")
async def list_credentials(caller: CurrentCaller, request: Request) -> list[DeployCredentialsView]:
    """The tenant's providers, their settings and targets (admin); never a token."""
    store = _store(request, caller)
    return [DeployCredentialsView.of(v) for v in await store.listed(caller.tenant_id)]


@router.delete("/{provider}", status_code=204)
async def delete_credentials(
    provider: Provider, caller: CurrentCaller, request: Request
) -> Response:
    """Forget the tenant's token for a provider (admin); its sites go back to the default."""
    if not await _store(request, caller).delete(caller.tenant_id, provider):
        raise HTTPException(404, f"no {provider} credentials for this tenant")
    return Response(status_code=204)
