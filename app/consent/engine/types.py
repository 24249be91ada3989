"""The engine's inputs and output: frozen facts on catalog, customer and sends; a Decision."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

Outcome = Literal["allow", "deny", "defer"]
Kind = Literal["essential", "marketing"]
Depth = Literal["essentials", "light", "regular", "close"]
Basis = Literal["opt_in", "opt_out"]
Choice = Literal["on", "off"]
SuppressionReason = Literal["hard_bounce", "stop", "complaint", "manual"]

DEPTH_ORDER: Mapping[str, int] = MappingProxyType(
    {"essentials": 0, "light": 1, "regular": 2, "close": 3}
)

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


def _empty() -> Mapping[Any, Any]:
    """The shared, read-only empty mapping used as a default."""
    return _EMPTY


@dataclass(frozen=True, slots=True)
class QuietWindow:
    """A daily local wall-clock window; start > end spans midnight; end is first allowed again."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Quiet:
    """Quiet hours (daily windows) and quiet days (0 = Monday ... 6 = Sunday, as date.weekday())."""

    hours: tuple[QuietWindow, ...] = ()
    days: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `count` sends in any `period_days` x 24 h."""

    count: int
    period_days: int


@dataclass(frozen=True, slots=True)
class TopicFacts:
    """A topic as the catalog defines it."""

    brand: str
    key: str
    kind: Kind
    depth: Depth | None
    basis: Basis | None
    channels: frozenset[str]
    min_notice_version: int = 1


@dataclass(frozen=True, slots=True)
class BrandFacts:
    """A brand as the catalog defines it."""

    key: str
    default_depth: Depth
    cap: Cap | None = None


@dataclass(frozen=True, slots=True)
class ChannelDefaults:
    """A channel's catalog settings: the customers' default quiet times and the legal ones."""

    quiet: Quiet = Quiet()
    legal: Quiet = Quiet()


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    """The catalog: default time zone, channel settings, brands and topics keyed (brand, topic)."""

    default_timezone: ZoneInfo
    channels: Mapping[str, ChannelDefaults]
    brands: Mapping[str, BrandFacts]
    topics: Mapping[tuple[str, str], TopicFacts]


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """Consent given for one topic on one channel."""

    notice_version: int
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class TopicPrefs:
    """The customer's choice for one topic; channels None means all the topic's channels."""

    choice: Choice | None = None
    channels: frozenset[str] | None = None
    consents: Mapping[str, ConsentFacts] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class BrandPrefs:
    """The customer's relationship with one brand; depth None means the brand's default."""

    depth: Depth | None = None
    cap: Cap | None = None
    paused_until: datetime | None = None
    topics: Mapping[str, TopicPrefs] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class ChannelPrefs:
    """The customer's settings for one channel; None quiet times mean the catalog's defaults."""

    enabled: bool = True
    quiet_hours: tuple[QuietWindow, ...] | None = None
    quiet_days: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """An active suppression of a channel's address, for one brand or (brand None) all of them."""

    reason: SuppressionReason
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """A live customer's addresses, suppressions and preferences."""

    timezone: ZoneInfo | None
    addresses: frozenset[str]
    suppressions: Mapping[str, tuple[Suppression, ...]] = field(default_factory=_empty)
    channels: Mapping[str, ChannelPrefs] = field(default_factory=_empty)
    no_marketing: bool = False
    paused_until: datetime | None = None
    global_cap: Cap | None = None
    brands: Mapping[str, BrandPrefs] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class SendFacts:
    """A marketing send already reserved or recorded for this customer."""

    brand: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """May `brand` send on `topic` over `channel` at `send_at` (timezone-aware)?"""

    brand: str
    topic: str
    channel: str
    send_at: datetime

    def __post_init__(self) -> None:
        if self.send_at.utcoffset() is None:
            raise ValueError("send_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: outcome, reasons in SPEC order, and (defer only) the UTC instant to retry."""

    outcome: Outcome
    reasons: tuple[str, ...]
    next_allowed_at: datetime | None
