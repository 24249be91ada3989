"""Access tokens: JWTs signed with HS256 by a key derived for the purpose, checked against every
current and previous key so that rotating the secret does not cut clients off mid-token."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from app.keys import Keys

ALGORITHM = "HS256"
PURPOSE = "jwt"
# Tolerated clock difference between the instances that issue and check tokens.
LEEWAY_SECONDS = 10


class InvalidTokenError(Exception):
    """The token is malformed, not ours, tampered with or expired."""


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says."""

    client_id: str
    scopes: frozenset[str]
    issued_at: datetime
    expires_at: datetime
    token_id: str
    secret_tag: str | None = None  # the tag of the client secret it was issued for


@lru_cache(maxsize=8)
def _jwk_keys(keys: Keys) -> tuple[OctKey, ...]:
    return tuple(OctKey.import_key(key) for key in keys.derive_all(PURPOSE))


def issue_token(
    *,
    keys: Keys,
    issuer: str,
    client_id: str,
    scopes: Iterable[str],
    ttl_seconds: int,
    now: datetime | None = None,
    secret_tag: str | None = None,
) -> str:
    """A signed access token for `client_id` with `scopes`, valid for `ttl_seconds` from `now`,
    bound to the client's current secret by its `secret_tag`."""
    issued = now if now is not None else datetime.now(UTC)
    expires = issued + timedelta(seconds=ttl_seconds)
    claims = {
        "iss": issuer,
        "sub": client_id,
        "scope": " ".join(sorted(set(scopes))),
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_urlsafe(16),
    }
    if secret_tag is not None:
        claims["secret_tag"] = secret_tag
    return jwt.encode({"alg": ALGORITHM}, claims, _jwk_keys(keys)[0], algorithms=[ALGORITHM])


def verify_token(token: str, *, keys: Keys, issuer: str) -> TokenClaims:
    """The claims of `token` once its signature, issuer and lifetime are checked.

    Raises `InvalidTokenError` for anything else.
    """
    decoded: jwt.Token | None = None
    for key in _jwk_keys(keys):
        try:
            decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
            break
        except JoseError:
            continue
        except ValueError as error:  # base64 or JSON garbage that joserfc lets through
            raise InvalidTokenError("malformed token") from error
    if decoded is None:
        raise InvalidTokenError("bad signature or malformed token")
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
        scope={"essential": True},
    )
    claims = decoded.claims
    try:
        registry.validate(claims)
    except JoseError as error:
        raise InvalidTokenError(str(error)) from error
    scope = claims["scope"]
    if not isinstance(scope, str):
        raise InvalidTokenError("the scope claim is not a string")
    tag = claims.get("secret_tag")
    if tag is not None and not isinstance(tag, str):
        raise InvalidTokenError("the secret_tag claim is not a string")
    return TokenClaims(
        client_id=claims["sub"],
        scopes=frozenset(scope.split()),
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        token_id=claims["jti"],
        secret_tag=tag,
    )
