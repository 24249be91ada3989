"""Decision counts per hour, outcome and reason, as the /metrics counter counts them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class DecisionTally(SQLModel, table=True):
    """Decisions answered in the hour starting at `hour` with `outcome`, once per reason.

    `reason` is "" for a decision without one; a decision with several counts under each, and
    every decision once more under "*".
    """

    __tablename__ = "decision_tally"

    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    outcome: str = Field(primary_key=True, max_length=16)
    reason: str = Field(primary_key=True, max_length=32)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
