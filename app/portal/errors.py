"""What a portal route raises to answer with a page instead of going on."""

from __future__ import annotations


class SignInRequired(Exception):
    """No session, or a limited one where the page needs a magic-link sign-in."""

    def __init__(self, *, full: bool = False) -> None:
        super().__init__("sign-in required")
        self.full = full


class PageError(Exception):
    """An error page: the status and one plain sentence (already translated)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
