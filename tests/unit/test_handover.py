"""Handing a secret to the next page: sealed, opened once in time, refused when altered."""

from __future__ import annotations

from app.auth.handover import Handover
from app.keys import Keys

KEYS = Keys(secret="handover-test-secret-0123456789abcdef", previous=())


def test_sealed_values_open_within_their_time() -> None:
    handover = Handover(KEYS, "client-secret")
    sealed = handover.seal({"secret": "s3cr3t"}, seconds=60)
    assert "s3cr3t" not in sealed
    assert handover.open(sealed) == {"secret": "s3cr3t"}


def test_expired_altered_or_foreign_values_do_not_open() -> None:
    handover = Handover(KEYS, "client-secret")
    expired = handover.seal({"secret": "s3cr3t"}, seconds=-1)
    sealed = handover.seal({"secret": "s3cr3t"}, seconds=60)
    altered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert handover.open(expired) is None
    assert handover.open(altered) is None
    assert Handover(KEYS, "another-purpose").open(sealed) is None
    assert handover.open("not a token") is None
