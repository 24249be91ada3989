"""Who is calling: the typed principals handed to endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.errors import AuthError


@dataclass(frozen=True)
class ClientPrincipal:
    """An API client authenticated by a bearer token.

    `scopes` are those of the token still granted to the client; `brands` is None when the client
    may act for every brand.
    """

    client_id: str
    scopes: frozenset[str]
    brands: frozenset[str] | None

    def may_use_brand(self, brand: str) -> bool:
        """Whether the client may read or act for `brand`."""
        return self.brands is None or brand in self.brands

    def require_brand(self, brand: str) -> None:
        """Raise a 403 `AuthError` unless the client may use `brand`."""
        if not self.may_use_brand(brand):
            raise AuthError(403, f"This client may not use brand {brand!r}.", "insufficient_scope")


@dataclass(frozen=True)
class CustomerPrincipal:
    """A customer in the portal: signed in by magic link, or `limited` by a preference link."""

    customer_id: str
    limited: bool
    session_token: str


@dataclass(frozen=True)
class AdminPrincipal:
    """A signed-in console account and its role: `auditor`, `support` or `admin`."""

    admin_id: str
    email: str
    role: str
    session_token: str
