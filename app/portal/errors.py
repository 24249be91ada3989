"""What a portal route raises to answer with a page instead of going on."""

from __future__ import annotations

from app.web.errors import PageError

__all__ = ["PageError", "SignInRequired"]


class SignInRequired(Exception):
    """No session, or a limited one where the page needs a magic-link sign-in."""

    def __init__(self, *, full: bool = False) -> None:
        super().__init__("sign-in required")
        self.full = full
