"""``POST /auth/login``: a one-time code from ``bdg up`` exchanged for a session token.

Only with an HS256 key can the gateway sign a token itself; with an identity provider (RS256,
EdDSA) the web app takes that provider's bearer token instead, and this route says so (501).
The code is checked before anything else is decided, and burnt by its first use.
"""

from __future__ import annotations

import time
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from bdg_gateway.auth import Authenticator
from bdg_gateway.deps import CurrentGateway
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_runtime.login_codes import LoginCodeError, LoginCodes, login_codes
from bdg_runtime.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"], route_class=StrictJsonRoute)
SESSION_SECONDS = 12 * 3600


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(min_length=1, max_length=200, description="the code of `bdg up`'s link")


class Session(BaseModel):
    token: str
    tenant: str
    user: str
    expires_at: float


async def _codes() -> LoginCodes:
    # Read per request: the codes live where `bdg up` put them (BDG_HOME), not in the app.
    return login_codes(Settings().bdg_home)


Codes = Annotated[LoginCodes, Depends(_codes)]


@router.post("/login", responses={401: {}, 501: {}})
async def login(body: LoginRequest, gateway: CurrentGateway, codes: Codes) -> Session:
    """A session token for the tenant and user the code was issued to (once)."""
    auth = gateway.auth
    if auth.algorithm != "HS256":
        raise HTTPException(
            501, "this gateway trusts an identity provider: sign in with its bearer token"
        )
    now = time.time()
    try:
        grant = codes.redeem(body.code, now=now)
    except LoginCodeError as error:
        raise HTTPException(401, str(error)) from None
    expires = now + SESSION_SECONDS
    return Session(
        token=session_token(auth, grant.tenant_id, grant.user_id, now, expires),
        tenant=grant.tenant_id,
        user=grant.user_id,
        expires_at=expires,
    )


def session_token(auth: Authenticator, tenant: str, user: str, now: float, expires: float) -> str:
    claims: dict[str, object] = {
        "sub": user,
        "tenant": tenant,
        "aud": auth.audience,
        "iat": int(now),
        "exp": int(expires),
    }
    if auth.issuer:
        claims["iss"] = auth.issuer
    return jwt.encode(claims, auth.key, algorithm="HS256")
