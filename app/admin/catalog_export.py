"""The current catalog written as the TOML file `cmr catalog apply` reads (SPEC section 1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.consent.catalog_state import channel_state

# How TOML writes the control characters it does not take as they are.
_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_TOPIC_FIELDS = ("key", "name", "kind")


def toml_string(text: str) -> str:
    """`text` as a TOML basic string."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A string, integer, list or table (inline) in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def _lines(fields: Mapping[str, Any]) -> list[str]:
    return [f"{key} = {toml_value(value)}" for key, value in fields.items() if value is not None]


def _topic_fields(topic: Mapping[str, Any]) -> dict[str, Any]:
    fields = {key: topic[key] for key in _TOPIC_FIELDS}
    if topic["kind"] == "marketing":
        fields["depth"] = topic["depth"]
        fields["basis"] = topic["basis"]
    fields["channels"] = topic["channels"]
    if topic["kind"] == "marketing" and topic["notice"] is not None:
        fields["notice"] = topic["notice"]
        fields["notice_version"] = topic["notice_version"]
        if topic["min_notice_version"] != 1:
            fields["min_notice_version"] = topic["min_notice_version"]
    if topic["kind"] == "marketing":
        fields["consent_valid_days"] = topic["consent_valid_days"]
    return fields


def catalog_toml(view: Mapping[str, Any], *, revision: int | None) -> str:
    """The catalog `view` (as `catalog_view` reads it) as a catalog file: applying it changes
    nothing. Channels without settings and retired brands and topics are left out."""
    blocks: list[list[str]] = [
        [
            f"# The cmr catalog, revision {revision if revision is not None else 0}.",
            f"default_timezone = {toml_string(view['default_timezone'])}",
        ]
    ]
    empty = channel_state(None)
    for channel, settings in view["channels"].items():
        if settings != empty:
            blocks.append([f"[channels.{channel}]", *_lines(settings)])
    for brand in view["brands"]:
        fields = {key: brand[key] for key in ("key", "name", "default_depth", "cap")}
        blocks.append(["[[brands]]", *_lines(fields)])
        blocks.extend(
            ["[[brands.topics]]", *_lines(_topic_fields(topic))] for topic in brand["topics"]
        )
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
