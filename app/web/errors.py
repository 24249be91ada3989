"""What a page route raises to answer with an error page instead of going on."""

from __future__ import annotations


class PageError(Exception):
    """An error page: the status and one plain sentence (already translated)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
