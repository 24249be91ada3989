"""The catalog's names of brands and topics, as the history shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.vocabulary import CHANNELS
from app.models import Brand, Topic


@dataclass(frozen=True)
class Names:
    """The catalog's names for brands and topics, retired ones included (old events name them)."""

    brands: Mapping[str, str]
    default_depths: Mapping[str, str]
    topics: Mapping[tuple[str, str], str]
    topic_channels: Mapping[tuple[str, str], tuple[str, ...]]

    def brand(self, key: str) -> str:
        return self.brands.get(key, key)

    def topic(self, brand: str, key: str) -> str:
        return self.topics.get((brand, key), key)


def load_names(session: Session) -> Names:
    """Every brand's and topic's name: two small selects."""
    brand_rows = list(
        session.execute(select(col(Brand.key), col(Brand.name), col(Brand.default_depth)))
    )
    topic_rows = list(
        session.execute(
            select(col(Topic.brand_key), col(Topic.key), col(Topic.name), col(Topic.channels))
        )
    )
    return Names(
        brands={key: name for key, name, _depth in brand_rows},
        default_depths={key: depth for key, _name, depth in brand_rows},
        topics={(brand, key): name for brand, key, name, _channels in topic_rows},
        topic_channels={
            (brand, key): tuple(c for c in CHANNELS if c in (channels or ()))
            for brand, key, _name, channels in topic_rows
        },
    )
