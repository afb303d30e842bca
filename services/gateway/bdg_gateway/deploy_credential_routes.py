"""A tenant admin's deploy provider credentials: set, list, remove. No token is ever answered.

``PUT /deploy/credentials/<provider>`` (``vercel``, ``netlify``, ``cloudflare-pages``, ``oci``)
stores the
token encrypted outside the event log (``bdg_jobs.deploy_credentials``) with the provider's
settings, and makes the provider serve the tenant's sites of ``target`` (default
``production``; ``null``: stored, serving nothing). Every
field is checked here (a token of printable ASCII, ids and names that go into a provider's URL
paths as plain slugs); each provider has its own body, so a field it does not use, or one it
needs and lacks, is a 422 naming it, with nothing written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from bdg_contracts.base import Contract
from bdg_contracts.release_events import NAME
from bdg_gateway.deps import CurrentCaller, gateway_of
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_jobs.deploy_credentials import CredentialView, DeployCredentials, load_key
from bdg_jobs.user_commands import Caller
from bdg_runtime.settings import Settings

router = APIRouter(prefix="/deploy/credentials", tags=["deploy"], route_class=StrictJsonRoute)

Provider = Literal["vercel", "netlify", "cloudflare-pages", "oci"]
Token = Annotated[str, Field(min_length=8, max_length=4000, pattern=r"^[\x21-\x7e]+$")]
Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Host = Annotated[str, Field(max_length=200, pattern=r"^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$")]
Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Target = Annotated[str, Field(pattern=NAME)]
# The distribution spec's grammar for a repository name and a tag (the registry is the
# operator's, BDG_OCI_REGISTRY: a tenant names none).
Repository = Annotated[
    str,
    Field(
        max_length=255,
        pattern=r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$",
    ),
]
Tag = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]


class _Credentials(Contract):
    token: Token = Field(description="the provider's API token: stored encrypted, never shown")
    target: Target | None = Field(default="production", description="the site target it serves")


class VercelCredentials(_Credentials):
    project: Slug = Field(description="the Vercel project, id or name")
    team_id: Slug | None = Field(default=None, description="the Vercel team, if any")
    alias_suffix: Host | None = Field(default=None, description="each release at <release>.<it>")


class NetlifyCredentials(_Credentials):
    site_id: Slug = Field(description="the Netlify site")


class PagesCredentials(_Credentials):
    account_id: Hex32 = Field(description="the Cloudflare account")
    project: Slug = Field(description="the Pages project (Direct Upload)")
    branch: Slug = Field(default="main", description="the project's production branch")


class OciCredentials(_Credentials):
    repository: Repository = Field(description="the image repository, e.g. acme/shop")
    username: Slug = Field(description="the registry user the access token belongs to")
    tag: Tag = Field(default="production", description="the tag production is: moved by promote")


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


async def _set(
    provider: str, body: _Credentials, caller: Caller, request: Request
) -> DeployCredentialsView:
    store = _store(request, caller)
    given = body.model_dump(exclude={"token", "target"}, exclude_none=True)
    settings = {name: str(value) for name, value in given.items()}
    await store.put(caller.tenant_id, provider, body.token, settings, body.target)
    views = await store.listed(caller.tenant_id)
    return DeployCredentialsView.of(next(v for v in views if v.provider == provider))


@router.put("/vercel")
async def set_vercel(
    body: VercelCredentials, caller: CurrentCaller, request: Request
) -> DeployCredentialsView:
    """Set the tenant's Vercel token and project (admin); the token is not answered."""
    return await _set("vercel", body, caller, request)


@router.put("/netlify")
async def set_netlify(
    body: NetlifyCredentials, caller: CurrentCaller, request: Request
) -> DeployCredentialsView:
    """Set the tenant's Netlify token and site (admin); the token is not answered."""
    return await _set("netlify", body, caller, request)


@router.put("/cloudflare-pages")
async def set_cloudflare_pages(
    body: PagesCredentials, caller: CurrentCaller, request: Request
) -> DeployCredentialsView:
    """Set the tenant's Cloudflare token, account and Pages project (admin); the token is not
    answered."""
    return await _set("cloudflare-pages", body, caller, request)


@router.put("/oci")
async def set_oci(
    body: OciCredentials, caller: CurrentCaller, request: Request
) -> DeployCredentialsView:
    """Set the tenant's registry user, access token (Docker Hub: a personal access token) and
    image repository (admin); the token is not answered."""
    return await _set("oci", body, caller, request)


@router.get("")
async def list_credentials(caller: CurrentCaller, request: Request) -> list[DeployCredentialsView]:
    """The tenant's providers, their settings and targets (admin); never a token."""
    store = _store(request, caller)
    return [DeployCredentialsView.of(v) for v in await store.listed(caller.tenant_id)]


def _deleting(provider: str) -> Callable[[Caller, Request], Awaitable[Response]]:
    async def delete(caller: CurrentCaller, request: Request) -> Response:
        if not await _store(request, caller).delete(caller.tenant_id, provider):
            raise HTTPException(404, f"no {provider} credentials for this tenant")
        return Response(status_code=204)

    delete.__doc__ = (
        f"Forget the tenant's {provider} token (admin); its sites go back to the default."
    )
    return delete


# One path per provider, as the PUTs: a template would overlap them.
for _provider in get_args(Provider):
    router.add_api_route(
        f"/{_provider}",
        _deleting(_provider),
        methods=["DELETE"],
        status_code=204,
        name=f"delete_{_provider.replace('-', '_')}",
        responses={404: {"description": "no credentials of that provider for the tenant"}},
    )
