"""The append-only, hash-chained audit trail: record, feed, verify."""

from app.audit.actors import CLI, SYSTEM, Actor, ActorType
from app.audit.cursor import InvalidCursor, decode_cursor, encode_cursor
from app.audit.feed import EventFilter, audit_listing, changes, event_views
from app.audit.record import ERASED, Change, canonical_json, event_hash, record, record_many
from app.audit.seal import Sealer, SealError
from app.audit.verify import VerifyResult, verify_chain

__all__ = [
    "CLI",
    "ERASED",
    "SYSTEM",
    "Actor",
    "ActorType",
    "Change",
    "EventFilter",
    "InvalidCursor",
    "SealError",
    "Sealer",
    "VerifyResult",
    "audit_listing",
    "canonical_json",
    "changes",
    "decode_cursor",
    "encode_cursor",
    "event_hash",
    "event_views",
    "record",
    "record_many",
    "verify_chain",
]
