"""Which provider serves a site: the tenant's choice for the site's target, else the default.

A tenant admin sets a provider's token and settings (``PUT /deploy/credentials/<provider>``)
and the site target it serves; a target nobody chose goes to ``BDG_DEPLOY_PROVIDER`` (default
``local``, the edge). A provider that is unknown, or chosen without credentials, is refused
here, before anything is built (``ProviderConfigError``). Base URLs come from
``BDG_VERCEL_API``, ``BDG_NETLIFY_API``, ``BDG_CLOUDFLARE_API`` and ``BDG_OCI_REGISTRY`` (the
providers' own by default, Docker Hub for ``oci``; tests point them at local servers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bdg_deployer.providers import cloudflare, netlify, oci_target, vercel
from bdg_deployer.providers.base import DeployTarget, ProviderConfigError
from bdg_deployer.providers.http import ProviderApi
from bdg_deployer.providers.http_retry import Retry
from bdg_deployer.providers.local import LocalEdge
from bdg_jobs.deploy_credentials import Credential, DeployCredentials

CLOUDS = (vercel.NAME, netlify.NAME, cloudflare.NAME, oci_target.NAME)
KNOWN = ("local", *CLOUDS)
URL_ENV = {
    vercel.NAME: ("BDG_VERCEL_API", vercel.API),
    netlify.NAME: ("BDG_NETLIFY_API", netlify.API),
    cloudflare.NAME: ("BDG_CLOUDFLARE_API", cloudflare.API),
    oci_target.NAME: ("BDG_OCI_REGISTRY", oci_target.API),
}


def default_provider(environ: Mapping[str, str] | None = None) -> str:
    name = (os.environ if environ is None else environ).get("BDG_DEPLOY_PROVIDER", "local")
    if name.strip() not in KNOWN:
        raise ProviderConfigError(
            name, f"BDG_DEPLOY_PROVIDER {name!r} is no deploy provider; known: {', '.join(KNOWN)}"
        )
    return name.strip()


def base_urls(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {name: env.get(var) or default for name, (var, default) in URL_ENV.items()}


def _setting(credential: Credential, name: str, default: str | None = None) -> str:
    value = credential.settings.get(name, default)
    if value is None:
        raise ProviderConfigError(
            credential.provider, f"the {credential.provider} settings lack {name}"
        )
    return value


Build = Callable[[ProviderApi, Credential], DeployTarget]
BUILDERS: dict[str, tuple[Callable[[object], str], Build]] = {
    vercel.NAME: (
        vercel.message_of,
        lambda api, c: vercel.VercelTarget(
            api,
            vercel.VercelProject(
                _setting(c, "project"), _setting(c, "team_id", ""), _setting(c, "alias_suffix", "")
            ),
        ),
    ),
    netlify.NAME: (
        netlify.message_of,
        lambda api, c: netlify.NetlifyTarget(api, netlify.NetlifySite(_setting(c, "site_id"))),
    ),
    cloudflare.NAME: (
        cloudflare.message_of,
        lambda api, c: cloudflare.PagesTarget(
            api,
            cloudflare.PagesProject(
                _setting(c, "account_id"), _setting(c, "project"), _setting(c, "branch", "main")
            ),
        ),
    ),
    oci_target.NAME: (
        lambda body: str(body),  # the registry's own words are read by oci.py
        lambda api, c: oci_target.OciTarget(
            api.base_url,
            oci_target.OciRepository(
                _setting(c, "repository"),
                _setting(c, "tag", "production"),
                _setting(c, "username", ""),
            ),
            c.token.get_secret_value(),
        ),
    ),
}


@dataclass
class ProviderChoice:
    local: LocalEdge
    credentials: DeployCredentials | None = None
    default: str = "local"
    urls: dict[str, str] = field(default_factory=base_urls)
    retry: Retry = field(default_factory=Retry)

    async def for_target(self, tenant: str, target: str) -> DeployTarget:
        chosen = await self.credentials.for_target(tenant, target) if self.credentials else None
        if chosen is not None:
            return self._build(chosen)
        return await self.named(tenant, self.default)

    async def named(self, tenant: str, name: str) -> DeployTarget:
        if name == self.local.name:
            return self.local
        if name not in CLOUDS:
            known = ", ".join(KNOWN)
            raise ProviderConfigError(name, f"{name!r} is no deploy provider; known: {known}")
        credential = await self.credentials.get(tenant, name) if self.credentials else None
        if credential is None:
            raise ProviderConfigError(
                name,
                f"no {name} credentials for tenant {tenant}: a tenant admin sets them with "
                f"PUT /deploy/credentials/{name}",
            )
        return self._build(credential)

    def _build(self, credential: Credential) -> DeployTarget:
        if credential.provider not in BUILDERS:
            raise ProviderConfigError(
                credential.provider, f"{credential.provider!r} is no deploy provider"
            )
        message_of, build = BUILDERS[credential.provider]
        token = credential.token.get_secret_value()
        api = ProviderApi(
            credential.provider, self.urls[credential.provider], token, message_of, self.retry
        )
        return build(api, credential)
