"""A catalog plan's differences in short lines, for people: the CLI's table and the console's."""

from __future__ import annotations

import json
from typing import Any

from app.consent.catalog_plan import Difference


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def difference_lines(difference: Difference) -> list[str]:
    """An added part's fields on one line; otherwise one `field: old → new` line per field."""
    if difference.change == "added" and difference.after is not None:
        after = difference.after
        hidden = {"key", "brand", "retired_at"}  # the subject names the first two
        if after.get("notice") is None:
            hidden |= {"notice_version", "min_notice_version"}
        shown = {k: v for k, v in after.items() if v is not None and k not in hidden}
        return [", ".join(f"{field}={_value(value)}" for field, value in shown.items())]
    return [
        f"{change.field}: {_value(change.old)} → {_value(change.new)}"
        for change in difference.fields
    ]
