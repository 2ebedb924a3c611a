"""Score the 属地 resolver on an independent, blind-written test set and write bench/results/jurisdiction_blind.md.

    .venv/bin/python bench/jurisdiction_blind.py [--cases PATH] [--out PATH]

The cases (tests/data/messy_addresses_blind.jsonl) were written by someone who had not read the resolver,
its alias/landmark tables or its own test set; expectations come only from data/shenzhen_divisions.csv and
knowledge of Shenzhen. Each case is a whole resident message:

    {"text": ..., "expect": "resolved"|"ambiguous"|"unknown",
     "district": ..., "street": ... | null, "community": short_name | null,
     "candidates": ["区/街道", ...]   # ambiguous cases only: every unit the name could mean}

For "resolved", a null level means "a careful human is not sure", so it is only checked for being
consistent (a street inside the expected district, a community inside the expected street/district).

Names from the resolver are compared after folding the few spellings that legitimately differ from NBS
(鲘/鮜, 街道/镇 for 深汕, committee suffixes), never by fuzzy matching.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

__all__ = [
    "BlindCase",
    "Divisions",
    "Outcome",
    "BlindReport",
    "load_cases",
    "validate_cases",
    "score",
    "render_markdown",
    "main",
]

EXPECTS = ("resolved", "ambiguous", "unknown")
DEFAULT_CASES = ROOT / "tests" / "data" / "messy_addresses_blind.jsonl"
DEFAULT_DIVISIONS = ROOT / "data" / "shenzhen_divisions.csv"
DEFAULT_OUT = ROOT / "bench" / "results" / "jurisdiction_blind.md"

# Suffixes NBS puts on community names that residents (and possibly the resolver) leave off.
_COMMUNITY_SUFFIXES = ("社区居民委员会", "社区居委会", "居民委员会", "居委会", "社区")
_DISTRICT_ALIASES = {"深汕合作区": "深汕特别合作区", "深汕区": "深汕特别合作区"}


def norm_district(name: str | None) -> str | None:
    if not name:
        return None
    return _DISTRICT_ALIASES.get(name, name)


def norm_street(name: str | None) -> str | None:
    """鲘门街道 / 鮜门镇 / 鮜门街道 are one unit: Shenzhen says 街道 and 鲘, NBS says 镇 and 鮜."""
    if not name:
        return None
    s = name.replace("鲘", "鮜")
    for suffix in ("街道办事处", "街道", "镇"):
        if s.endswith(suffix) and len(s) > len(suffix):
            return s[: -len(suffix)]
    return s


def norm_community(name: str | None) -> str | None:
    if not name:
        return None
    for suffix in _COMMUNITY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class BlindCase:
    line: int
    text: str
    expect: str
    district: str | None
    street: str | None
    community: str | None
    candidates: tuple[str, ...] = ()


def load_cases(path: Path = DEFAULT_CASES) -> list[BlindCase]:
    cases: list[BlindCase] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        row = json.loads(raw)
        expect = row.get("expect")
        if expect not in EXPECTS:
            raise ValueError(f"{path}:{n}: expect must be one of {EXPECTS}, got {expect!r}")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{path}:{n}: text must be a non-empty string")
        cases.append(BlindCase(
            line=n, text=text, expect=expect,
            district=row.get("district"), street=row.get("street"), community=row.get("community"),
            candidates=tuple(row.get("candidates") or ()),
        ))
    return cases


@dataclass(frozen=True)
class _Unit:
    district: str  # functional district (what Shenzhen routes by)
    street: str | None
    community: str | None


class Divisions:
    """The official units from data/shenzhen_divisions.csv, indexed by folded names."""

    def __init__(self, path: Path = DEFAULT_DIVISIONS) -> None:
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.districts: set[str] = {r["functional_district"] for r in rows}
        self.street_of: dict[str, str] = {}  # street name -> functional district
        self.communities: list[_Unit] = []  # (district, street, community short_name)
        for r in rows:
            if r["level"] == "street":
                self.street_of[r["name"]] = r["functional_district"]
                _STREET_SPELLING.setdefault(norm_street(r["name"]) or "", r["name"])
        for r in rows:
            if r["level"] == "community":
                self.communities.append(_Unit(r["functional_district"], r["parent_name"], r["short_name"]))

    def find_street(self, name: str | None) -> tuple[str, str] | None:
        """(official street name, district) for a street name in any accepted spelling."""
        key = norm_street(name)
        for street, district in self.street_of.items():
            if norm_street(street) == key:
                return street, district
        return None

    def communities_named(self, name: str | None) -> list[_Unit]:
        key = norm_community(name)
        return [u for u in self.communities if norm_community(u.community) == key]


def validate_cases(cases: list[BlindCase], divisions: Divisions) -> list[str]:
    """Every expected unit must exist in the CSV and nest properly; ambiguous candidates must be complete."""
    problems: list[str] = []
    for c in cases:
        where = f"line {c.line} ({c.text[:20]})"
        if c.expect == "resolved":
            if c.district not in divisions.districts:
                problems.append(f"{where}: unknown district {c.district!r}")
                continue
            if c.street is not None:
                if c.street not in divisions.street_of:
                    problems.append(f"{where}: {c.street!r} is not an official street name")
                elif divisions.street_of[c.street] != c.district:
                    problems.append(f"{where}: {c.street} is in {divisions.street_of[c.street]}, not {c.district}")
            if c.community is not None:
                units = [u for u in divisions.communities if u.community == c.community]
                if not units:
                    problems.append(f"{where}: {c.community!r} is not a community short_name")
                elif not any(u.district == c.district and (c.street is None or u.street == c.street) for u in units):
                    problems.append(f"{where}: {c.community} is not under {c.district}/{c.street}")
                same_name = divisions.communities_named(c.community)
                if len(same_name) > 1:
                    # A name used in several places needs its district or street written in the text.
                    stems = {c.district.removesuffix("新区").removesuffix("区")}
                    if c.street:
                        stems.add(norm_street(c.street) or "")
                    if not any(s and s in c.text for s in stems):
                        problems.append(f"{where}: {c.community} exists {len(same_name)}× but the text names no "
                                        "district/street to pick one")
        elif c.expect == "ambiguous":
            if len(c.candidates) < 2:
                problems.append(f"{where}: ambiguous case needs ≥2 candidates")
            for cand in c.candidates:
                d, _, s = cand.partition("/")
                if divisions.street_of.get(s) != d:
                    problems.append(f"{where}: candidate {cand!r} is not a real district/street pair")
            named = [u for u in divisions.communities if _spoken_community(u.community or "") in c.text]
            real = sorted({f"{u.district}/{u.street}" for u in named})
            if real and sorted(set(c.candidates)) != real:
                problems.append(f"{where}: candidates {sorted(c.candidates)} ≠ CSV units {real}")
            if c.district is not None and any(not k.startswith(c.district + "/") for k in c.candidates):
                problems.append(f"{where}: district {c.district} given but candidates span districts")
        else:
            if any(v is not None for v in (c.district, c.street, c.community)):
                problems.append(f"{where}: unknown case must have null district/street/community")
    return problems


def _spoken_community(short_name: str) -> str:
    """How a resident names a community: 凤凰社区平湖墟 / 坂田社区坂田围 are just 凤凰社区 / 坂田社区."""
    head, sep, _ = short_name.partition("社区")
    return head + "社区" if sep else short_name + "社区"


@dataclass(frozen=True)
class Outcome:
    case: BlindCase
    district: str | None
    street: str | None
    community: str | None
    ambiguous: bool
    district_ok: bool | None  # None: level not checked for this case
    street_ok: bool | None
    community_ok: bool | None
    wrong_street: bool  # a street is present and contradicts the expectation
    guessed_street: bool  # ambiguous case: committed to one candidate street without flagging ambiguity
    correct: bool
    candidates_got: tuple[str, ...] = ()  # ambiguous alternatives as "区/街道" (when the resolver gives them)

    @property
    def got(self) -> str:
        parts = [self.district or "-", self.street or "-", self.community or "-"]
        return "/".join(parts) + (" (ambiguous)" if self.ambiguous else "")


def _judge(case: BlindCase, result: Any, divisions: Divisions) -> Outcome:
    district = getattr(result, "district", None)
    street = getattr(result, "street", None)
    community = getattr(result, "community", None)
    alternatives = tuple(getattr(result, "ambiguous", ()) or ())
    ambiguous = bool(alternatives)
    d_got, s_got, c_got = norm_district(district), norm_street(street), norm_community(community)
    street_unit = divisions.find_street(street) if street else None

    def community_inside(d: str | None, s: str | None) -> bool:
        units = divisions.communities_named(community)
        return any((d is None or u.district == d) and (s is None or norm_street(u.street) == norm_street(s))
                   for u in units)

    district_ok = street_ok = community_ok = None
    wrong_street = guessed = False
    if case.expect == "resolved":
        district_ok = d_got == case.district
        if case.street is not None:
            street_ok = s_got == norm_street(case.street)
            wrong_street = street is not None and not street_ok
        elif street is not None:
            wrong_street = street_unit is None or street_unit[1] != case.district
        if case.community is not None:
            community_ok = c_got == norm_community(case.community)
        community_consistent = community is None or community_inside(case.district, case.street)
        correct = bool(district_ok) and street_ok is not False and not wrong_street \
            and community_ok is not False and community_consistent
    elif case.expect == "ambiguous":
        allowed_streets = {norm_street(k.partition("/")[2]) for k in case.candidates}
        allowed_districts = {k.partition("/")[0] for k in case.candidates}
        if street is not None:
            wrong_street = s_got not in allowed_streets
            guessed = not wrong_street and not ambiguous and len(allowed_streets) > 1
        district_fine = d_got is None or d_got in allowed_districts
        if case.district is not None:
            district_ok = d_got == case.district
            district_fine = district_fine and district_ok
        correct = ambiguous and district_fine and not wrong_street
    else:
        wrong_street = street is not None
        correct = district is None and street is None and community is None and not ambiguous
    return Outcome(case, district, street, community, ambiguous, district_ok, street_ok, community_ok,
                   wrong_street, guessed, correct, _district_streets(alternatives))


def _district_streets(alternatives: tuple[Any, ...]) -> tuple[str, ...]:
    """Reduce the resolver's alternatives to sorted "区/街道" keys, whether given as "区/街道/社区" text or objects."""
    keys: set[str] = set()
    for alt in alternatives:
        if isinstance(alt, str):
            parts = alt.split("/")
            if len(parts) >= 2:
                found = _STREET_SPELLING.get(norm_street(parts[1]) or "", parts[1])
                keys.add(f"{norm_district(parts[0])}/{found}")
        elif getattr(alt, "district", None) and getattr(alt, "street", None):
            keys.add(f"{norm_district(alt.district)}/{_STREET_SPELLING.get(norm_street(alt.street) or '', alt.street)}")
    return tuple(sorted(keys))


# Folded street name -> official NBS spelling, filled from the CSV on first Divisions() load.
_STREET_SPELLING: dict[str, str] = {}


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


@dataclass
class BlindReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def _of(self, expect: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.expect == expect]

    def level(self, name: str) -> tuple[int, int]:
        judged = [getattr(o, f"{name}_ok") for o in self._of("resolved")]
        judged = [j for j in judged if j is not None]
        return sum(judged), len(judged)

    @property
    def overall(self) -> tuple[int, int]:
        return sum(o.correct for o in self.outcomes), len(self.outcomes)

    @property
    def ambiguous_recall(self) -> tuple[int, int]:
        amb = self._of("ambiguous")
        return sum(o.ambiguous for o in amb), len(amb)

    @property
    def ambiguous_complete(self) -> tuple[int, int]:
        """Flagged ambiguous AND the alternatives cover exactly the expected 区/街道 candidates."""
        amb = self._of("ambiguous")
        return sum(o.ambiguous and sorted(set(o.case.candidates)) == list(o.candidates_got) for o in amb), len(amb)

    @property
    def unknown_precision(self) -> tuple[int, int]:
        said_unknown = [o for o in self.outcomes if o.district is None and o.street is None and not o.ambiguous]
        return sum(o.case.expect == "unknown" for o in said_unknown), len(said_unknown)

    @property
    def unknown_recall(self) -> tuple[int, int]:
        unk = self._of("unknown")
        return sum(o.correct for o in unk), len(unk)

    @property
    def wrong_streets(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.wrong_street]

    @property
    def guessed_streets(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.guessed_street]

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]

    def summary(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {}
        for name in ("district", "street", "community"):
            ok, n = self.level(name)
            out[f"{name}_accuracy"] = _ratio(ok, n)
        out["overall_accuracy"] = _ratio(*self.overall)
        out["ambiguous_recall"] = _ratio(*self.ambiguous_recall)
        out["ambiguous_complete"] = _ratio(*self.ambiguous_complete)
        out["unknown_precision"] = _ratio(*self.unknown_precision)
        out["unknown_recall"] = _ratio(*self.unknown_recall)
        out["wrong_streets"] = len(self.wrong_streets)
        out["guessed_streets"] = len(self.guessed_streets)
        out["cases"] = len(self.outcomes)
        return out


def score(cases: list[BlindCase], resolve: Callable[[str], Any], divisions: Divisions) -> BlindReport:
    return BlindReport([_judge(c, resolve(c.text), divisions) for c in cases])


def _expected(c: BlindCase) -> str:
    if c.expect == "resolved":
        return "/".join(v or "?" for v in (c.district, c.street, c.community))
    if c.expect == "ambiguous":
        return "ambiguous: " + ", ".join(c.candidates)
    return "unknown"


def _pct(pair: tuple[int, int]) -> str:
    ok, n = pair
    return f"{ok}/{n} ({100 * ok / n:.1f}%)" if n else "0/0"


def _machine() -> tuple[str, int]:
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        uname = platform.platform()
    return uname, os.cpu_count() or 0


def render_markdown(report: BlindReport, cases_path: Path, command: str) -> str:
    uname, nproc = _machine()
    counts = {e: len(report._of(e)) for e in EXPECTS}
    lines = [
        "# 属地 resolver — blind test set",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: `{uname}`, nproc={nproc}, Python {platform.python_version()}",
        f"- command: `{command}`",
        f"- cases: `{cases_path.relative_to(ROOT) if cases_path.is_relative_to(ROOT) else cases_path}` "
        f"({len(report.outcomes)} whole resident messages: {counts['resolved']} resolved, "
        f"{counts['ambiguous']} ambiguous, {counts['unknown']} unknown), written without reading the "
        "resolver, its alias/landmark tables or its own test cases; expectations checked against "
        "data/shenzhen_divisions.csv. Expectations were frozen before the resolver was first run on them.",
        "",
        "## Results",
        "",
        "| measure | result |",
        "| --- | --- |",
        f"| district accuracy (resolved cases) | {_pct(report.level('district'))} |",
        f"| street accuracy (resolved cases with an expected street) | {_pct(report.level('street'))} |",
        f"| community accuracy (resolved cases with an expected community) | {_pct(report.level('community'))} |",
        f"| overall: cases fully right | {_pct(report.overall)} |",
        f"| ambiguous recall (ambiguous cases flagged ambiguous) | {_pct(report.ambiguous_recall)} |",
        f"| … with exactly the expected 区/街道 alternatives | {_pct(report.ambiguous_complete)} |",
        f"| unknown precision (said unknown and truly no place) | {_pct(report.unknown_precision)} |",
        f"| unknown recall (no-place cases returned empty) | {_pct(report.unknown_recall)} |",
        f"| **wrong streets** (street present, contradicts expectation) | {len(report.wrong_streets)} |",
        f"| ambiguous cases where one candidate street was silently picked | {len(report.guessed_streets)} |",
        "",
        "A case is fully right when: resolved — the district and every expected level match and no returned "
        "level contradicts them; ambiguous — flagged ambiguous, with no street or district outside the "
        "candidates; unknown — no district, street or community returned and not flagged ambiguous.",
        "",
        "## Failures (for the resolver's owner)",
        "",
    ]
    if not report.failures:
        lines.append("None.")
    else:
        lines += ["| line | text | expected | got | wrong street |", "| --- | --- | --- | --- | --- |"]
        for o in report.failures:
            text = o.case.text.replace("|", "\\|")
            lines.append(f"| {o.case.line} | {text} | {_expected(o.case)} | {o.got} | "
                         f"{'**yes**' if o.wrong_street else ''} |")
    incomplete = [o for o in report._of("ambiguous")
                  if o.ambiguous and sorted(set(o.case.candidates)) != list(o.candidates_got)]
    if incomplete:
        lines += ["", "Ambiguous cases flagged, but with a different set of alternatives:", ""]
        for o in incomplete:
            missing = sorted(set(o.case.candidates) - set(o.candidates_got))
            extra = sorted(set(o.candidates_got) - set(o.case.candidates))
            lines.append(f"- line {o.case.line} {o.case.text}: missing {missing or '-'}, extra {extra or '-'}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--divisions", type=Path, default=DEFAULT_DIVISIONS)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from router.adapters.reference_data import load_resolver

    divisions = Divisions(args.divisions)
    cases = load_cases(args.cases)
    problems = validate_cases(cases, divisions)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    resolver = load_resolver()
    report = score(cases, resolver.resolve, divisions)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/jurisdiction_blind.py", *sys.argv[1:]])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_markdown(report, args.cases.resolve(), command), encoding="utf-8")
    for key, value in report.summary().items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
