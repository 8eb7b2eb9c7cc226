"""The legal periods of config.yaml's deadline rule sets, as typed values checked at load time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

Unit = Literal["working", "calendar"]
ResolveFrom = Literal["receipt", "acceptance"]

_UNITS: tuple[str, ...] = get_args(Unit)
_RESOLVE_FROM: tuple[str, ...] = get_args(ResolveFrom)
_PERIOD_KEYS = frozenset({"days", "unit"})
_RULE_KEYS = frozenset({"answer", "accept", "resolve", "resolve_max", "resolve_from"})


@dataclass(frozen=True)
class Period:
    """A legal period: a count of working or calendar days."""

    days: int
    unit: Unit

    def __post_init__(self) -> None:
        """Fail at load time rather than when the first ticket's deadline is computed."""
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ValueError(f"period days must be an integer >= 1, got {self.days!r}")
        if self.unit not in _UNITS:
            raise ValueError(f"period unit must be one of {', '.join(_UNITS)}, got {self.unit!r}")


@dataclass(frozen=True)
class TypeRules:
    """Deadline rules of one ticket type under one rule set."""

    answer: Period
    resolve: Period
    accept: Period | None = None
    resolve_max: Period | None = None
    resolve_from: ResolveFrom = "receipt"

    def __post_init__(self) -> None:
        """Resolution counted from acceptance needs an acceptance period to plan with."""
        if self.resolve_from not in _RESOLVE_FROM:
            raise ValueError(
                f"resolve_from must be one of {', '.join(_RESOLVE_FROM)}, got {self.resolve_from!r}"
            )
        if self.resolve_from == "acceptance" and self.accept is None:
            raise ValueError("resolve_from 'acceptance' needs an 'accept' period")
        if (
            self.resolve_max is not None
            and self.resolve_max.unit == self.resolve.unit
            and self.resolve_max.days < self.resolve.days
        ):
            raise ValueError(
                f"resolve_max ({self.resolve_max.days}) is shorter than "
                f"resolve ({self.resolve.days})"
            )


def rules_from_config(raw: Mapping) -> TypeRules:
    """Build rules from one config.yaml rule set, naming the bad key so the commune can fix it."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"a rule set must be a mapping, got {type(raw).__name__}")
    unknown = sorted(str(k) for k in raw if k not in _RULE_KEYS)
    if unknown:
        raise ValueError(
            f"unknown key(s) in rule set: {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_RULE_KEYS))}"
        )
    for required in ("answer", "resolve"):
        if raw.get(required) is None:
            raise ValueError(f"rule set is missing '{required}'")
    resolve_from = raw.get("resolve_from", "receipt")
    if resolve_from not in _RESOLVE_FROM:
        raise ValueError(
            f"resolve_from must be one of {', '.join(_RESOLVE_FROM)}, got {resolve_from!r}"
        )
    try:
        return TypeRules(
            answer=_period_from_config(raw["answer"], key="answer"),
            resolve=_period_from_config(raw["resolve"], key="resolve"),
            accept=_optional_period(raw, key="accept"),
            resolve_max=_optional_period(raw, key="resolve_max"),
            resolve_from=resolve_from,
        )
    except ValueError as exc:
        raise ValueError(f"bad rule set: {exc}") from None


def _optional_period(raw: Mapping, *, key: str) -> Period | None:
    """Missing or null means the step does not apply to this ticket type."""
    value = raw.get(key)
    return None if value is None else _period_from_config(value, key=key)


def _period_from_config(value: object, *, key: str) -> Period:
    """Check one {days, unit} mapping so a typo does not become a wrong legal deadline."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"'{key}' must be a mapping like {{days: 10, unit: working}}, got {value!r}"
        )
    unknown = sorted(str(k) for k in value if k not in _PERIOD_KEYS)
    if unknown:
        raise ValueError(f"'{key}' has unknown key(s): {', '.join(unknown)}")
    days = value.get("days")
    unit = value.get("unit")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"'{key}.days' must be an integer >= 1, got {days!r}")
    if unit not in _UNITS:
        raise ValueError(f"'{key}.unit' must be one of {', '.join(_UNITS)}, got {unit!r}")
    return Period(days=days, unit=unit)
