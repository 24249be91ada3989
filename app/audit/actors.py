"""Who did something: the actor recorded with every audit event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorType = Literal["customer", "client", "admin", "system", "cli"]
ACTOR_TYPES: frozenset[str] = frozenset({"customer", "client", "admin", "system", "cli"})


@dataclass(frozen=True, slots=True)
class Actor:
    """An actor: its type and, for customers, clients and admins, its id."""

    type: ActorType
    id: str | None = None


SYSTEM = Actor("system")
CLI = Actor("cli")
