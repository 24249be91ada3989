"""The catalog file (TOML): its schema, every rule it must follow, and loading it."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.consent.vocabulary import (
    Basis,
    CapModel,
    Channel,
    Day,
    Depth,
    Kind,
    QuietWindowModel,
    TopicDepth,
)

T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)
Loc = tuple[str | int, ...]


SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_INT = 2**31 - 1  # the database's INTEGER
MAX_CONSENT_DAYS = 36_525  # a century: long enough for any policy, short of date overflow
RULE_ERROR = "catalog_rule"


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise PydanticCustomError(
            "slug",
            "must be a slug: 1-64 of a-z 0-9 _ -, starting with a letter or digit",
        )
    return value


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _time_zone(value: str) -> str:
    if value not in _zones():
        raise PydanticCustomError("time_zone", "not an IANA time zone: {zone}", {"zone": value})
    return value


def _unique(what: str) -> Callable[[list[T]], list[T]]:
    def check(values: list[T]) -> list[T]:
        seen: set[T] = set()
        for value in values:
            if value in seen:
                raise PydanticCustomError(
                    "duplicate",
                    "{what} {value} is listed twice",
                    {"what": what, "value": repr(value)},
                )
            seen.add(value)
        return values

    return check


Slug = Annotated[str, AfterValidator(_slug)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
Days = Annotated[list[Day], AfterValidator(_unique("day"))]
Channels = Annotated[list[Channel], Field(min_length=1), AfterValidator(_unique("channel"))]
Version = Annotated[int, Field(ge=1, le=MAX_INT)]


def _error(loc: Loc, msg: str, value: Any, kind: str = RULE_ERROR) -> InitErrorDetails:
    # A template without placeholders renders as is; escape nothing, format nothing.
    return InitErrorDetails(type=PydanticCustomError(kind, msg), loc=loc, input=value)


def _refuse(title: str, errors: list[InitErrorDetails], caught: ValidationError | None) -> None:
    """Raise every error of a model at once: those pydantic found (`caught`) and our own.

    A ValidationError raised inside a validator keeps its locations (prefixed with the
    model's own), so each cross-field problem is named at the field it is about.
    """
    if caught is not None:
        errors = [
            _error(tuple(item["loc"]), item["msg"], item["input"], item["type"])
            for item in caught.errors(include_url=False)
        ] + errors
    if errors:
        raise ValidationError.from_exception_data(title, errors)


def _duplicates(data: Any, field: str, what: str) -> list[InitErrorDetails]:
    """Keys given twice in the list `data[field]`, named at the second (read before validation,
    so they are reported beside every other problem)."""
    items = data.get(field) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    first: dict[str, int] = {}
    errors: list[InitErrorDetails] = []
    for index, item in enumerate(items):
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str):
            continue
        if key in first:
            msg = f"{what} {key!r} is already defined at {field}[{first[key]}]"
            errors.append(_error((field, index, "key"), msg, key))
        else:
            first[key] = index
    return errors


def _unique_keys(
    data: Any, handler: ModelWrapValidatorHandler[S], title: str, field: str, what: str
) -> S:
    errors = _duplicates(data, field, what)
    try:
        model = handler(data)
    except ValidationError as caught:
        _refuse(title, errors, caught)
        raise
    _refuse(title, errors, None)
    return model


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ChannelSpec(_Spec):
    """A channel's customers' default quiet times and its legal ones (always applied)."""

    quiet_hours: list[QuietWindowModel] = []
    quiet_days: Days = []
    legal_quiet_hours: list[QuietWindowModel] = []
    legal_quiet_days: Days = []


class TopicSpec(_Spec):
    """A topic of a brand."""

    key: Slug
    name: Name
    kind: Kind
    depth: TopicDepth | None = None
    basis: Basis | None = None
    channels: Channels
    notice: Notice | None = None
    notice_version: Version = 1
    min_notice_version: Version = 1
    consent_valid_days: Annotated[int, Field(ge=1, le=MAX_CONSENT_DAYS)] | None = None

    @model_validator(mode="after")
    def _rules(self) -> TopicSpec:
        problems: list[tuple[Loc, str]] = []
        given = self.model_fields_set
        if self.kind == "essential":
            for field in (
                "depth",
                "basis",
                "notice",
                "notice_version",
                "min_notice_version",
                "consent_valid_days",
            ):
                if field in given:
                    problems.append(((field,), f"essential topics have no {field}"))
        else:
            if self.depth is None:
                problems.append((("depth",), "marketing topics need one: light, regular or close"))
            if self.basis is None:
                problems.append((("basis",), "marketing topics need one: opt_in or opt_out"))
            if self.basis == "opt_in" and self.notice is None:
                problems.append(
                    (("notice",), "opt_in topics need the notice consent is asked with")
                )
            if self.basis == "opt_out" and self.consent_valid_days is not None:
                problems.append((("consent_valid_days",), "only opt_in topics take consent"))
            if self.notice is None and "notice_version" in given:
                problems.append((("notice_version",), "there is no notice to version"))
            if self.min_notice_version > self.notice_version:
                problems.append(
                    (
                        ("min_notice_version",),
                        f"must not exceed notice_version ({self.notice_version})",
                    )
                )
        _refuse(
            "TopicSpec",
            [_error(loc, msg, getattr(self, str(loc[0]))) for loc, msg in problems],
            None,
        )
        return self


class BrandSpec(_Spec):
    """A brand and its topics."""

    key: Slug
    name: Name
    default_depth: Depth
    cap: CapModel | None = None
    topics: list[TopicSpec] = []

    @model_validator(mode="wrap")
    @classmethod
    def _unique_topics(cls, data: Any, handler: ModelWrapValidatorHandler[BrandSpec]) -> BrandSpec:
        return _unique_keys(data, handler, cls.__name__, "topics", "topic")


class CatalogFile(_Spec):
    """A whole catalog: default time zone, channel settings, brands and their topics."""

    default_timezone: TimeZoneName = "UTC"
    channels: dict[Channel, ChannelSpec] = {}
    brands: list[BrandSpec] = []

    @model_validator(mode="wrap")
    @classmethod
    def _unique_brands(
        cls, data: Any, handler: ModelWrapValidatorHandler[CatalogFile]
    ) -> CatalogFile:
        return _unique_keys(data, handler, cls.__name__, "brands", "brand")

    def zone(self) -> ZoneInfo:
        """The time zone of customers whose own is unknown."""
        return ZoneInfo(self.default_timezone)


@dataclass(frozen=True, slots=True)
class CatalogProblem:
    """One problem of a catalog file, where it is (`brands[0].topics[2].depth`) and what it is."""

    loc: str
    msg: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.msg}" if self.loc else self.msg


class CatalogFileError(Exception):
    """A catalog file that cannot be read or breaks the rules; `problems` lists every problem."""

    def __init__(self, problems: Sequence[CatalogProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def _format_loc(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            continue  # pydantic's marker of a mapping key: the key itself is already named
        else:
            text += f".{part}" if text else part
    return text


def _problems(error: ValidationError) -> list[CatalogProblem]:
    problems: list[CatalogProblem] = []
    for item in error.errors(include_url=False):
        problems.append(CatalogProblem(_format_loc(item["loc"]), item["msg"]))
    return problems


def parse_catalog(data: Mapping[str, Any]) -> CatalogFile:
    """The catalog described by `data` (a parsed TOML document); CatalogFileError if invalid."""
    try:
        return CatalogFile.model_validate(data)
    except ValidationError as error:
        raise CatalogFileError(_problems(error)) from None


_TOML_POSITION = re.compile(
    r"^(?P<msg>.*?)\s*\(at (?P<where>line \d+, column \d+|end of document)\)$"
)


def load_catalog_file(path: str | Path) -> CatalogFile:
    """The catalog in the TOML file at `path`; CatalogFileError naming every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogFileError([CatalogProblem(str(path), f"cannot read: {error}")]) from None
    return parse_catalog_text(text)


def parse_catalog_text(text: str) -> CatalogFile:
    """The catalog in the TOML `text`; CatalogFileError naming every problem (a syntax error at
    `line N, column M`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_POSITION.match(str(error))
        problem = (
            CatalogProblem(match["where"], f"TOML syntax: {match['msg']}")
            if match
            else CatalogProblem("", f"TOML syntax: {error}")
        )
        raise CatalogFileError([problem]) from None
    return parse_catalog(data)
