"""The SPEC's closed vocabularies, and the small value schemas the catalog and documents share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from app.consent.engine.types import DEPTH_ORDER, Basis, Cap, Depth, Kind, QuietWindow

__all__ = [
    "BASES",
    "CHANNELS",
    "DAYS",
    "DAY_NUMBERS",
    "DEPTHS",
    "DEPTH_ORDER",
    "KINDS",
    "TOPIC_DEPTHS",
    "Basis",
    "CapModel",
    "Channel",
    "Day",
    "Depth",
    "Kind",
    "QuietWindowModel",
    "TopicDepth",
]

Channel = Literal["email", "sms", "voice", "push", "postal", "in_app", "whatsapp"]
TopicDepth = Literal["light", "regular", "close"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

CHANNELS: tuple[Channel, ...] = ("email", "sms", "voice", "push", "postal", "in_app", "whatsapp")
KINDS: tuple[Kind, ...] = ("essential", "marketing")
BASES: tuple[Basis, ...] = ("opt_in", "opt_out")
DEPTHS: tuple[Depth, ...] = ("essentials", "light", "regular", "close")  # ascending
TOPIC_DEPTHS: tuple[TopicDepth, ...] = ("light", "regular", "close")
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# As date.weekday(): 0 = Monday ... 6 = Sunday.
DAY_NUMBERS: Mapping[str, int] = MappingProxyType({day: n for n, day in enumerate(DAYS)})

_HHMM = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise PydanticCustomError("time_format", "must be a time HH:MM from 00:00 to 23:59")
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]


class QuietWindowModel(BaseModel):
    """A daily quiet window, `HH:MM` local; start later than end spans midnight."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    start: HHMM
    end: HHMM

    @model_validator(mode="after")
    def _start_differs_from_end(self) -> QuietWindowModel:
        if self.start == self.end:
            raise PydanticCustomError("quiet_window", "start and end must differ")
        return self

    def to_window(self) -> QuietWindow:
        """The engine's window."""
        return QuietWindow(start=time.fromisoformat(self.start), end=time.fromisoformat(self.end))


class CapModel(BaseModel):
    """At most `count` sends in any `period_days` x 24 h."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    count: int = Field(ge=1)
    period_days: int = Field(ge=1, le=366)

    def to_cap(self) -> Cap:
        """The engine's cap."""
        return Cap(count=self.count, period_days=self.period_days)
