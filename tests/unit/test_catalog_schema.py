"""The catalog file's schema: every rule, each problem named by its location; the demo parses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.consent.catalog_schema import (
    CatalogFile,
    CatalogFileError,
    load_catalog_file,
    parse_catalog,
)
from app.consent.demo import DEMO_CATALOG
from app.consent.engine.types import Cap, QuietWindow
from app.consent.vocabulary import (
    CHANNELS,
    DAY_NUMBERS,
    DAYS,
    DEPTHS,
    CapModel,
    QuietWindowModel,
)

DEMO = DEMO_CATALOG

Data = dict[str, Any]


def base() -> Data:
    """A small valid catalog, as parsed TOML."""
    return {
        "default_timezone": "Europe/Berlin",
        "channels": {
            "sms": {
                "quiet_hours": [{"start": "21:00", "end": "08:00"}],
                "quiet_days": ["sun"],
                "legal_quiet_hours": [{"start": "21:00", "end": "08:00"}],
                "legal_quiet_days": [],
            }
        },
        "brands": [
            {
                "key": "acme",
                "name": "Acme Outdoors",
                "default_depth": "light",
                "cap": {"count": 3, "period_days": 7},
                "topics": [
                    {
                        "key": "orders",
                        "name": "Orders",
                        "kind": "essential",
                        "channels": ["email", "sms"],
                    },
                    {
                        "key": "offers",
                        "name": "Offers",
                        "kind": "marketing",
                        "depth": "regular",
                        "basis": "opt_in",
                        "channels": ["email", "sms"],
                        "notice": "Offers for you.",
                        "notice_version": 2,
                        "min_notice_version": 1,
                        "consent_valid_days": 730,
                    },
                    {
                        "key": "news",
                        "name": "News",
                        "kind": "marketing",
                        "depth": "light",
                        "basis": "opt_out",
                        "channels": ["email"],
                    },
                ],
            }
        ],
    }


def problems(data: Data) -> list[str]:
    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(data)
    return [str(problem) for problem in caught.value.problems]


def test_the_base_is_valid() -> None:
    catalog = parse_catalog(base())
    assert catalog.default_timezone == "Europe/Berlin"
    offers = catalog.brands[0].topics[1]
    assert (offers.notice_version, offers.min_notice_version) == (2, 1)
    news = catalog.brands[0].topics[2]
    assert (news.notice, news.notice_version, news.min_notice_version) == (None, 1, 1)


def test_an_empty_catalog_defaults_to_utc() -> None:
    catalog = parse_catalog({})
    assert (catalog.default_timezone, catalog.brands, catalog.channels) == ("UTC", [], {})
    assert str(catalog.zone()) == "UTC"


def test_the_demo_catalog_parses_and_shows_every_feature() -> None:
    catalog = load_catalog_file(DEMO)
    assert catalog.default_timezone == "Europe/Berlin"
    assert len(catalog.brands) == 2
    topics = [topic for brand in catalog.brands for topic in brand.topics]
    marketing = [topic for topic in topics if topic.kind == "marketing"]
    assert {topic.depth for topic in marketing} == {"light", "regular", "close"}
    assert {topic.basis for topic in marketing} == {"opt_in", "opt_out"}
    assert any(topic.consent_valid_days for topic in marketing if topic.basis == "opt_in")
    for brand in catalog.brands:
        assert {"essential", "marketing"} <= {topic.kind for topic in brand.topics}
    assert any(brand.cap is not None for brand in catalog.brands)
    used = {channel for topic in topics for channel in topic.channels}
    assert {"email", "sms", "push", "whatsapp", "postal", "in_app"} <= used
    for channel in ("sms", "voice", "whatsapp"):
        legal = catalog.channels[channel].legal_quiet_hours
        assert [(w.start, w.end) for w in legal] == [("21:00", "08:00")]


Mutation = Callable[[Data], None]


def _topic(index: int) -> Callable[[Data], Data]:
    def get(data: Data) -> Data:
        topic: Data = data["brands"][0]["topics"][index]
        return topic

    return get


def _set(path: Callable[[Data], Data], **values: Any) -> Mutation:
    def mutate(data: Data) -> None:
        path(data).update(values)

    return mutate


def _drop(path: Callable[[Data], Data], field: str) -> Mutation:
    def mutate(data: Data) -> None:
        del path(data)[field]

    return mutate


def _brand(data: Data) -> Data:
    brand: Data = data["brands"][0]
    return brand


def _sms(data: Data) -> Data:
    sms: Data = data["channels"]["sms"]
    return sms


def _root(data: Data) -> Data:
    return data


ORDERS, OFFERS, NEWS = _topic(0), _topic(1), _topic(2)

CASES: list[tuple[str, Mutation, str, str]] = [
    ("unknown top-level", _set(_root, colour="red"), "colour", "Extra inputs"),
    ("bad zone", _set(_root, default_timezone="Mars/Base"), "default_timezone", "IANA"),
    ("zone not a string", _set(_root, default_timezone=1), "default_timezone", "string"),
    ("unknown channel", _set(_root, channels={"fax": {}}), "channels.fax", "'email'"),
    ("unknown channel field", _set(_sms, quiet=[]), "channels.sms.quiet", "Extra"),
    (
        "quiet window start == end",
        _set(_sms, quiet_hours=[{"start": "08:00", "end": "08:00"}]),
        "channels.sms.quiet_hours[0]",
        "start and end must differ",
    ),
    (
        "quiet window 24:00",
        _set(_sms, legal_quiet_hours=[{"start": "21:00", "end": "24:00"}]),
        "channels.sms.legal_quiet_hours[0].end",
        "HH:MM",
    ),
    (
        "quiet window 8:00",
        _set(_sms, quiet_hours=[{"start": "8:00", "end": "09:00"}]),
        "channels.sms.quiet_hours[0].start",
        "HH:MM",
    ),
    ("quiet day", _set(_sms, quiet_days=["sunday"]), "channels.sms.quiet_days[0]", "'mon'"),
    ("quiet day twice", _set(_sms, legal_quiet_days=["sat", "sat"]), "legal_quiet_days", "twice"),
    ("brand key", _set(_brand, key="Acme"), "brands[0].key", "slug"),
    ("brand key long", _set(_brand, key="a" * 65), "brands[0].key", "slug"),
    ("brand key start", _set(_brand, key="-acme"), "brands[0].key", "slug"),
    ("brand name empty", _set(_brand, name="  "), "brands[0].name", "at least 1"),
    ("brand without name", _drop(_brand, "name"), "brands[0].name", "Field required"),
    ("brand depth", _set(_brand, default_depth="deep"), "brands[0].default_depth", "'light'"),
    (
        "cap count 0",
        _set(_brand, cap={"count": 0, "period_days": 7}),
        "cap.count",
        "greater than or equal to 1",
    ),
    ("cap period", _set(_brand, cap={"count": 1, "period_days": 367}), "cap.period_days", "366"),
    ("cap float", _set(_brand, cap={"count": 1.0, "period_days": 7}), "cap.count", "integer"),
    ("cap extra", _set(_brand, cap={"count": 1, "period_days": 7, "x": 1}), "cap.x", "Extra"),
    ("topic key", _set(OFFERS, key="Offers!"), "brands[0].topics[1].key", "slug"),
    ("topic kind", _set(ORDERS, kind="service"), "brands[0].topics[0].kind", "'essential'"),
    ("essential depth", _set(ORDERS, depth="light"), "brands[0].topics[0].depth", "essential"),
    ("essential basis", _set(ORDERS, basis="opt_out"), "brands[0].topics[0].basis", "essential"),
    ("essential notice", _set(ORDERS, notice="Hi"), "brands[0].topics[0].notice", "essential"),
    (
        "essential notice_version",
        _set(ORDERS, notice_version=1),
        "brands[0].topics[0].notice_version",
        "essential",
    ),
    (
        "essential consent days",
        _set(ORDERS, consent_valid_days=30),
        "brands[0].topics[0].consent_valid_days",
        "essential",
    ),
    ("marketing without depth", _drop(NEWS, "depth"), "brands[0].topics[2].depth", "need"),
    ("marketing depth essentials", _set(NEWS, depth="essentials"), "topics[2].depth", "'light'"),
    ("marketing without basis", _drop(NEWS, "basis"), "brands[0].topics[2].basis", "need"),
    ("basis", _set(NEWS, basis="soft"), "brands[0].topics[2].basis", "'opt_in'"),
    ("opt_in without notice", _set(NEWS, basis="opt_in"), "brands[0].topics[2].notice", "notice"),
    ("notice empty", _set(OFFERS, notice=" "), "brands[0].topics[1].notice", "at least 1"),
    (
        "notice_version 0",
        _set(OFFERS, notice_version=0),
        "topics[1].notice_version",
        "greater than or equal",
    ),
    (
        "min above notice_version",
        _set(OFFERS, min_notice_version=3),
        "brands[0].topics[1].min_notice_version",
        "must not exceed notice_version (2)",
    ),
    (
        "notice_version without notice",
        _set(NEWS, notice_version=2),
        "brands[0].topics[2].notice_version",
        "no notice",
    ),
    (
        "consent days 0",
        _set(OFFERS, consent_valid_days=0),
        "consent_valid_days",
        "greater than or equal",
    ),
    (
        "consent days on opt_out",
        _set(NEWS, consent_valid_days=30),
        "brands[0].topics[2].consent_valid_days",
        "opt_in",
    ),
    ("no channels", _set(NEWS, channels=[]), "brands[0].topics[2].channels", "at least 1"),
    ("unknown channel", _set(NEWS, channels=["fax"]), "topics[2].channels[0]", "'email'"),
    ("channel twice", _set(NEWS, channels=["email", "email"]), "topics[2].channels", "twice"),
    ("channels not a list", _set(NEWS, channels="email"), "topics[2].channels", "list"),
    ("unknown topic field", _set(NEWS, colour="red"), "brands[0].topics[2].colour", "Extra"),
]


@pytest.mark.parametrize(
    ("mutate", "loc", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_problem_is_named_by_its_location(mutate: Mutation, loc: str, fragment: str) -> None:
    data = copy.deepcopy(base())
    mutate(data)
    found = problems(data)
    assert len(found) == 1, found
    where, _, message = found[0].partition(": ")
    assert where.endswith(loc)
    assert fragment in message


def test_duplicate_keys_are_named_at_the_second_beside_other_problems() -> None:
    data = base()
    data["brands"].append(copy.deepcopy(data["brands"][0]))
    data["brands"][0]["topics"].append(copy.deepcopy(data["brands"][0]["topics"][0]))
    data["brands"][0]["topics"][1]["channels"] = ["fax"]
    found = problems(data)
    assert sorted(found) == [
        "brands[0].topics[1].channels[0]: Input should be 'email', 'sms', 'voice', 'push', "
        "'postal', 'in_app' or 'whatsapp'",
        "brands[0].topics[3].key: topic 'orders' is already defined at topics[0]",
        "brands[1].key: brand 'acme' is already defined at brands[0]",
    ]


def test_every_problem_is_listed() -> None:
    data = base()
    data["default_timezone"] = "Nowhere"
    data["brands"][0]["topics"][0]["depth"] = "light"
    data["brands"][0]["topics"][0]["basis"] = "opt_in"
    data["brands"][0]["topics"][2]["channels"] = ["fax"]
    found = problems(data)
    assert [problem.partition(":")[0] for problem in found] == [
        "default_timezone",
        "brands[0].topics[0].depth",
        "brands[0].topics[0].basis",
        "brands[0].topics[2].channels[0]",
    ]


def test_toml_syntax_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text('default_timezone = "UTC"\n[[brands]]\nkey = \n')
    with pytest.raises(CatalogFileError) as caught:
        load_catalog_file(path)
    (problem,) = caught.value.problems
    assert problem.loc == "line 3, column 7"
    assert problem.msg.startswith("TOML syntax:")


def test_toml_values_are_not_coerced(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text('[channels.sms]\nquiet_hours = [{ start = 21:00:00, end = "08:00" }]\n')
    with pytest.raises(CatalogFileError) as caught:
        load_catalog_file(path)
    assert [str(p) for p in caught.value.problems] == [
        "channels.sms.quiet_hours[0].start: Input should be a valid string"
    ]


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError) as caught:
        load_catalog_file(tmp_path / "nope.toml")
    assert caught.value.problems[0].loc.endswith("nope.toml")
    assert "cannot read" in caught.value.problems[0].msg


def test_the_models_refuse_rule_breaking_construction() -> None:
    with pytest.raises(ValidationError, match="essential topics have no depth"):
        CatalogFile.model_validate(
            {
                "brands": [
                    {
                        "key": "a",
                        "name": "A",
                        "default_depth": "light",
                        "topics": [
                            {
                                "key": "t",
                                "name": "T",
                                "kind": "essential",
                                "depth": "light",
                                "channels": ["email"],
                            }
                        ],
                    }
                ]
            }
        )


# --- the shared value schemas -------------------------------------------------------------------


def test_vocabularies() -> None:
    assert CHANNELS == ("email", "sms", "voice", "push", "postal", "in_app", "whatsapp")
    assert DEPTHS == ("essentials", "light", "regular", "close")
    assert [DAY_NUMBERS[day] for day in DAYS] == [0, 1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("start", "end"), [("00:00", "23:59"), ("21:00", "08:00"), ("08:00", "21:00")]
)
def test_quiet_window_accepts(start: str, end: str) -> None:
    window = QuietWindowModel.model_validate({"start": start, "end": end})
    assert window.to_window() == QuietWindow(time.fromisoformat(start), time.fromisoformat(end))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "08:00", "end": "08:00"}, "start and end must differ"),
        ({"start": "24:00", "end": "08:00"}, "must be a time HH:MM from 00:00 to 23:59"),
        ({"start": "08:60", "end": "09:00"}, "must be a time HH:MM from 00:00 to 23:59"),
        ({"start": "08:00:00", "end": "09:00"}, "must be a time HH:MM from 00:00 to 23:59"),
        ({"start": 800, "end": "09:00"}, "Input should be a valid string"),
        ({"start": "08:00"}, "Field required"),
        ({"start": "08:00", "end": "09:00", "days": []}, "Extra inputs are not permitted"),
    ],
)
def test_quiet_window_refuses(data: Data, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        QuietWindowModel.model_validate(data)
    assert [error["msg"] for error in caught.value.errors()] == [message]


def test_quiet_window_refuses_start_equal_end_in_json() -> None:
    with pytest.raises(ValidationError) as caught:
        QuietWindowModel.model_validate_json('{"start": "21:00", "end": "21:00"}')
    assert caught.value.errors()[0]["msg"] == "start and end must differ"


@pytest.mark.parametrize(
    "data",
    [
        {"count": 0, "period_days": 7},
        {"count": 1, "period_days": 0},
        {"count": 1, "period_days": 367},
        {"count": "3", "period_days": 7},
        {"count": True, "period_days": 7},
        {"count": 1},
        {"count": 1, "period_days": 7, "per": "week"},
    ],
)
def test_cap_refuses(data: Data) -> None:
    with pytest.raises(ValidationError):
        CapModel.model_validate(data)


def test_cap_bounds_and_engine_form() -> None:
    assert CapModel(count=1, period_days=366).to_cap() == Cap(1, 366)
    assert CapModel.model_validate_json('{"count": 2, "period_days": 1}').to_cap() == Cap(2, 1)
