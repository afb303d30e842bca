"""Which provider a site goes to, and the refusals that come before any build."""

from __future__ import annotations

import pytest

from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.providers.base import ProviderConfigError
from bdg_deployer.providers.choose import ProviderChoice, base_urls, default_provider
from bdg_deployer.providers.local import LocalEdge

LOCAL = LocalEdge(EdgeClient("http://127.0.0.1:9"), 9)


def test_the_default_is_the_edge_and_an_unknown_one_is_refused() -> None:
    assert default_provider({}) == "local"
    assert default_provider({"BDG_DEPLOY_PROVIDER": "netlify"}) == "netlify"
    with pytest.raises(ProviderConfigError, match="'heroku' is no deploy provider"):
        default_provider({"BDG_DEPLOY_PROVIDER": "heroku"})


def test_base_urls_come_from_the_environment() -> None:
    urls = base_urls({"BDG_VERCEL_API": "http://127.0.0.1:1"})
    assert urls["vercel"] == "http://127.0.0.1:1"
    assert urls["netlify"] == "https://api.netlify.com"


async def test_no_tenant_choice_goes_to_the_default() -> None:
    assert await ProviderChoice(LOCAL).for_target("acme", "production") is LOCAL


async def test_a_cloud_without_credentials_or_an_unknown_name_is_refused() -> None:
    choice = ProviderChoice(LOCAL, default="vercel")
    with pytest.raises(ProviderConfigError, match="no vercel credentials for tenant acme"):
        await choice.for_target("acme", "production")
    with pytest.raises(ProviderConfigError) as raised:
        await choice.named("acme", "heroku")
    assert raised.value.provider == "heroku"
