"""Normalising emails, phones, time zones and locales; parsing customer references."""

from __future__ import annotations

import pytest

from app.consent.identity import (
    InvalidIdentifier,
    Reference,
    channel_address,
    normalize_email,
    normalize_phone,
    parse_reference,
    postal_text,
    validate_locale,
    validate_timezone,
)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ana@example.org", "ana@example.org"),
        ("Ana@Example.ORG", "ana@example.org"),
        ("ANA.Maria+news@example.org", "ana.maria+news@example.org"),
        ("ana@bücher.example", "ana@xn--bcher-kva.example"),
        ("ana@BÜCHER.example", "ana@xn--bcher-kva.example"),
        ("ana@xn--bcher-kva.example", "ana@xn--bcher-kva.example"),
    ],
)
def test_emails_compare_case_insensitively_with_the_domain_in_idna(
    raw: str, normalised: str
) -> None:
    assert normalize_email(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    ["", "ana", "ana@", "@example.org", "a@b@example.org", "ana@exa mple.org", "Ana <a@b.org>"],
)
def test_invalid_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+4915112345678", "+4915112345678"),
        ("+49 151 1234 5678", "+4915112345678"),
        ("+49 (151) 1234-5678", "+4915112345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (212) 555-0123", "+12125550123"),
    ],
)
def test_phones_are_kept_in_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "015112345678", "+49 1", "+999 123456", "phone", "+"])
def test_phones_without_country_code_or_invalid_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("Europe/Berlin", True),
        ("UTC", True),
        ("America/Argentina/Buenos_Aires", True),
        ("Mars/Olympus", False),
        ("europe/berlin", False),
        ("", False),
    ],
)
def test_time_zones_are_iana_names(value: str, valid: bool) -> None:
    if valid:
        assert validate_timezone(value) == value
    else:
        with pytest.raises(InvalidIdentifier):
            validate_timezone(value)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("de", True),
        ("en-GB", True),
        ("gsw", True),
        ("german", False),
        ("de_DE", False),
        ("", False),
    ],
)
def test_locales_are_language_tags(value: str, valid: bool) -> None:
    if valid:
        assert validate_locale(value) == value
    else:
        with pytest.raises(InvalidIdentifier):
            validate_locale(value)


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("c_AbC-123_x", Reference("id", "c_AbC-123_x")),
        ("ext:crm-123", Reference("ext", "crm-123")),
        ("ext:a:b", Reference("ext", "a:b")),
        ("email:Ana@Example.org", Reference("email", "ana@example.org")),
        ("email:ana@bücher.example", Reference("email", "ana@xn--bcher-kva.example")),
        ("tel:+49 151 1234 5678", Reference("tel", "+4915112345678")),
    ],
)
def test_references_are_parsed_and_normalised(ref: str, parsed: Reference) -> None:
    assert parse_reference(ref) == parsed


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "crm-123",
        "c_",
        "c_has space",
        "c_" + "x" * 39,
        "ext:",
        "ext:" + "x" * 201,
        "email:",
        "email:nobody",
        "tel:",
        "tel:0151 1234 5678",
        "fax:+4915112345678",
        ":x",
    ],
)
def test_malformed_references_are_refused(ref: str) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_reference(ref)


@pytest.mark.parametrize(
    ("channel", "value", "address"),
    [
        ("email", "Ana@Example.org", "ana@example.org"),
        ("sms", "+49 151 12345678", "+4915112345678"),
        ("voice", "+49 151 12345678", "+4915112345678"),
        ("whatsapp", "+49 151 12345678", "+4915112345678"),
        ("push", "Token-ABC", "Token-ABC"),
        ("postal", "  Hauptstr. 1\n10115  BERLIN ", "hauptstr. 1 10115 berlin"),
    ],
)
def test_channel_addresses_take_their_channel_form(channel: str, value: str, address: str) -> None:
    assert channel_address(channel, value) == address


def test_in_app_has_no_address() -> None:
    with pytest.raises(InvalidIdentifier):
        channel_address("in_app", "x")


def test_a_postal_address_object_compares_by_its_parts_in_order() -> None:
    address = {"street": "Hauptstr.  1", "city": "BERLIN"}

    assert postal_text(address) == "hauptstr. 1 berlin"
