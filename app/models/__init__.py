"""SQLModel tables, one module per aggregate."""

from app.models.admin import Admin
from app.models.audit import AuditEvent, AuditHead
from app.models.base import UTCDateTime, utcnow
from app.models.catalog import Brand, CatalogSetting, ChannelSetting, Topic
from app.models.client import ApiClient
from app.models.customer import Customer, CustomerKey, Preference, Tombstone
from app.models.send import Send
from app.models.session import SignInLink, WebSession
from app.models.suppression import Suppression
from app.models.tally import DecisionTally

__all__ = [
    "Admin",
    "ApiClient",
    "AuditEvent",
    "AuditHead",
    "Brand",
    "CatalogSetting",
    "ChannelSetting",
    "Customer",
    "CustomerKey",
    "DecisionTally",
    "Preference",
    "Send",
    "SignInLink",
    "Suppression",
    "Tombstone",
    "Topic",
    "UTCDateTime",
    "WebSession",
    "utcnow",
]
