"""Hashing of secrets and passwords with Argon2id."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`, with its salt and parameters."""
    return str(_hasher.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`; a malformed hash matches nothing."""
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether `password_hash` was made with other parameters than the current ones."""
    return bool(_hasher.check_needs_rehash(password_hash))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("no such account")


def burn_verification(password: str) -> None:
    """Spend the time of a verification, so an unknown account answers as slowly as a known one."""
    verify_password(_dummy_hash(), password)
