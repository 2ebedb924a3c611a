"""Which Shenzhen body handles a topic: the reviewed routing table (router/data/routing.csv).

The table is data, reviewed by people who know the agencies; this module only reads and looks it up.
A row keyed by (l1, l2) is the default for that pair; a row that also names an l3 overrides it where
the third level changes who acts first (a neighbour's renovation noise goes to mediation, not to the
housing bureau's desk).

`handling` says how the ticket is worked, not just who owns it:
- ``agency``     the department itself takes the ticket;
- ``street``     a 属地 matter: the 街道办事处 of the place handles it;
- ``mediation``  a dispute between residents / landlord and tenant / owners and property management:
                 the 综治中心 of the community or street mediates first;
- ``grid_check`` a hazard or violation on the ground (安全隐患, 违建, 占道, 消防通道): the grid's 网格员
                 checks the spot first, then the department acts.

`level` is the tier of government whose body acts: ``city`` (深圳市…) or ``district`` (…区…, which
includes the street offices and community centres under the district).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Handling",
    "Level",
    "Route",
    "RoutingError",
    "RoutingTable",
    "COLUMNS",
    "escalation_chain",
]

COLUMNS = ("l1", "l2", "l3", "department", "level", "handling")


class Handling(str, Enum):
    AGENCY = "agency"
    STREET = "street"
    MEDIATION = "mediation"
    GRID_CHECK = "grid_check"


class Level(str, Enum):
    CITY = "city"
    DISTRICT = "district"


class RoutingError(ValueError):
    """The routing table is malformed, or a topic has no route."""


@dataclass(frozen=True)
class Route:
    department: str
    level: Level
    handling: Handling

    def to_dict(self) -> dict[str, str]:
        return {"department": self.department, "level": self.level.value, "handling": self.handling.value}


# Who a ticket goes to when the body below did not resolve it (督办 / escalation): 社区 → 街道 → 区 → 市.
_ESCALATION = ("社区", "街道", "区", "市")


def escalation_chain(start: str = "社区") -> tuple[str, ...]:
    """The tiers above (and including) ``start``, lowest first: escalation_chain("街道") → (街道, 区, 市)."""
    if start not in _ESCALATION:
        raise ValueError(f"unknown tier {start!r}; expected one of {', '.join(_ESCALATION)}")
    return _ESCALATION[_ESCALATION.index(start):]


class RoutingTable:
    """(l1, l2[, l3]) → Route, read from a CSV with columns l1,l2,l3,department,level,handling."""

    def __init__(self, rows: Iterable[tuple[str, str, str | None, Route]]) -> None:
        self._pairs: dict[tuple[str, str], Route] = {}
        self._triples: dict[tuple[str, str, str], Route] = {}
        self._l1_default: dict[str, Route] = {}
        for l1, l2, l3, route in rows:
            if l3:
                key3 = (l1, l2, l3)
                if key3 in self._triples:
                    raise RoutingError(f"duplicate routing row for {l1}/{l2}/{l3}")
                self._triples[key3] = route
            else:
                if (l1, l2) in self._pairs:
                    raise RoutingError(f"duplicate routing row for {l1}/{l2}")
                self._pairs[(l1, l2)] = route
        for (l1, _l2), route in self._pairs.items():
            self._l1_default.setdefault(l1, route)
        # An l1 without l2 (the classifier found no sub-topic) goes where its "其他" row says,
        # which is the l1's general agency; fall back to the first row of that l1.
        for (l1, l2), route in self._pairs.items():
            if l2 == "其他":
                self._l1_default[l1] = route
        for l1, l2, _l3 in self._triples:
            if (l1, l2) not in self._pairs:
                raise RoutingError(f"l3 override {l1}/{l2}/{_l3} has no default row for {l1}/{l2}")

    @classmethod
    def from_records(cls, columns: Sequence[str], records: Iterable[Mapping[str, str]],
                     source: str = "routing.csv") -> RoutingTable:
        """The table from the rows of routing.csv (``columns``: its header); errors name ``source`` and
        the line."""
        if tuple(columns) != COLUMNS:
            raise RoutingError(f"{source}: expected columns {','.join(COLUMNS)}, got {list(columns)}")
        rows = []
        for lineno, rec in enumerate(records, start=2):
            try:
                route = Route((rec["department"] or "").strip(), Level(rec["level"]), Handling(rec["handling"]))
            except ValueError as exc:
                raise RoutingError(f"{source}:{lineno}: {exc}") from None
            if not (rec["l1"] and rec["l2"] and route.department):
                raise RoutingError(f"{source}:{lineno}: l1, l2 and department are required")
            rows.append((rec["l1"].strip(), rec["l2"].strip(), (rec["l3"] or "").strip() or None, route))
        return cls(rows)

    def pairs(self) -> frozenset[tuple[str, str]]:
        """Every (l1, l2) with a default row."""
        return frozenset(self._pairs)

    def l1s(self) -> frozenset[str]:
        return frozenset(self._l1_default)

    def route(self, l1: str, l2: str | None = None, l3: str | None = None) -> Route:
        """The most specific route: (l1,l2,l3) override, else (l1,l2), else the l1's general agency."""
        if l2 is not None and l3 is not None and (l1, l2, l3) in self._triples:
            return self._triples[(l1, l2, l3)]
        if l2 is not None and (l1, l2) in self._pairs:
            return self._pairs[(l1, l2)]
        if l1 in self._l1_default:
            return self._l1_default[l1]
        raise RoutingError(f"no route for topic {l1!r}")
