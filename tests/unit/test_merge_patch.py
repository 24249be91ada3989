"""JSON Merge Patch (RFC 7396) and the stored form of the preferences document."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.consent.document import dump_document, merge_patch, parse_document
from app.consent.errors import ValidationFailed

# RFC 7396, Appendix A: (original, patch, result).
RFC_7396_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_7396_EXAMPLES)
def test_the_rfc_7396_examples(original: Any, patch: Any, result: Any) -> None:
    assert merge_patch(original, patch) == result


@pytest.mark.parametrize(("original", "patch"), [case[:2] for case in RFC_7396_EXAMPLES])
def test_neither_the_original_nor_the_patch_is_changed(original: Any, patch: Any) -> None:
    before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)

    merged = merge_patch(original, patch)

    assert (original, patch) == (before, patch_before)
    if isinstance(merged, dict | list) and isinstance(patch, dict | list):
        assert merged is not patch


def test_an_array_from_the_patch_is_not_shared_with_the_result() -> None:
    patch: dict[str, Any] = {"channels": {"sms": {"quiet_days": ["sun"]}}}

    merged = merge_patch({}, patch)
    merged["channels"]["sms"]["quiet_days"].append("sat")

    assert patch == {"channels": {"sms": {"quiet_days": ["sun"]}}}


# (stored document, its stored form): defaults and empty members are left out.
STORED_FORMS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"no_marketing": False, "paused_until": None, "channels": {}, "brands": {}}, {}),
    ({"channels": {"sms": {"enabled": True}}}, {}),
    ({"brands": {"acme": {"topics": {"news": {}}}}}, {}),
    ({"brands": {"acme": {"topics": {"news": {"consents": {}}}}}}, {}),
    (
        {"channels": {"sms": {"quiet_hours": []}}},
        {"channels": {"sms": {"quiet_hours": []}}},
    ),
    (
        {"paused_until": "2030-01-01T01:00:00+01:00"},
        {"paused_until": "2030-01-01T00:00:00Z"},
    ),
    (
        {"brands": {"acme": {"depth": "light", "topics": {"news": {"choice": "off"}}}}},
        {"brands": {"acme": {"depth": "light", "topics": {"news": {"choice": "off"}}}}},
    ),
]


@pytest.mark.parametrize(("document", "stored"), STORED_FORMS)
def test_the_stored_form_leaves_defaults_out(
    document: dict[str, Any], stored: dict[str, Any]
) -> None:
    assert dump_document(parse_document(document)) == stored


@pytest.mark.parametrize(
    ("document", "loc"),
    [
        ({"no_marketing": "yes"}, ["no_marketing"]),
        ({"channels": {"sms": {"enabled": 0}}}, ["channels", "sms", "enabled"]),
        ({"channels": {"fax": {}}}, ["channels", "fax"]),
        ({"paused_until": "2030-01-01T00:00:00"}, ["paused_until"]),
        ({"global_cap": {"count": 1, "period_days": 367}}, ["global_cap", "period_days"]),
        ({"brands": {"acme": {"topics": {"news": {"channels": []}}}}}, ["brands", "acme"]),
        ({"extra": 1}, ["extra"]),
    ],
)
def test_an_invalid_document_names_the_member(document: dict[str, Any], loc: list[Any]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_document(document)

    assert any(e["loc"][: len(loc)] == loc for e in caught.value.errors), caught.value.errors
