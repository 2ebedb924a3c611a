"""属地 resolver: free text → district / street / community / grid.

Residents name places loosely ("南山粤海那边", "宝安西乡固戍", "鹽田沙頭角", "深大站附近"). A ticket must be
dispatched to one real unit, so the resolver only ever returns units that exist in the NBS division
list (data/shenzhen_divisions.csv) and that are consistent with each other; when the text fits
several units equally well it says so (``ambiguous``) instead of guessing, and when it finds no place
it says ``unknown``.

How it works: every way of naming a unit (official name, name without suffix, former names, typos,
landmarks from router/data/landmarks.csv, grid keywords from a replaceable grid file) is indexed as a
*surface form* that points to one or more *paths* (district, street, community, grid). The text is
scanned leftmost-longest; each mention votes for its candidate paths, and a path is chosen when its
own mention plus the mentions consistent with it (its parents) give it the highest score. Bare names
that are also everyday words (中心, 劳动, 新村 …) only count when another mention supports them.

Pure: built from rows (``JurisdictionResolver.from_rows``; router/adapters/reference_data.py reads the
CSV files); resolving is allocation-light.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from router.domain.normalise import to_simplified

__all__ = [
    "Jurisdiction",
    "JurisdictionDataError",
    "JurisdictionResolver",
]

SHENSHAN = "深汕特别合作区"

# Weights of one mention's interpretation. Full names beat bare names; a bare name that is also the
# bare name of a higher-level unit ("南山" is 南山区, 南山街道 and 南山社区) is demoted so that it means
# the higher unit unless other mentions pull it down ("宝安西乡盐田" → 西乡街道盐田社区).
_W_FULL = 1.0
_W_STREET_BARE = 0.9
_W_COMMUNITY_BARE = 0.8
_W_PART = 0.85  # one half of a compound NBS community name ("杨美社区嘉丽园" → "嘉丽园")
_W_LANDMARK = 1.0
_W_GRID = 1.0
_TYPO_FACTOR = 0.85
_DEMOTE_FACTOR = 0.5
_ROAD_FACTOR = 0.6  # "宝安大道" is a road: evidence of the district, but weak
_TIE_EPS = 0.05

# Tiers of a surface form.
_STRONG, _WEAK, _COMMON = 0, 1, 2

# Context that makes a weak bare name a place mention: "固戍那边", "在固戍", "住固戍".
_LOCATIVE_AFTER = re.compile(
    r"(?:那边|这边|那里|这里|那儿|这儿|那块|这块|附近|一带|片区|周边|旁边|辖区|地区|区域|村|居委|街坊|"
    r"那片|这片|那一片|这一片|地铁站|公交站)"
)
_LOCATIVE_BEFORE = re.compile(r"(?:住在|住|在|到|去|来|位于|家在|搬到|靠近|临近)$")
_ROAD_AFTER = re.compile(
    r"(?:[东西南北中一二三四五六七八九十]{0,2})(?:路|大道|大街|街(?!道)|公路|巷|隧道|立交)"
)

# Spoken fillers removed before matching, so "西乡 呃 那个 固戍" reads as "西乡固戍".
_FILLERS = ("那个", "这个", "就是", "然后", "嗯", "呃", "额", "啊", "哦", "噢", "诶", "欸", "呀", "嘛", "哈")
_SPACES = re.compile(r"\s+")
# A fragment that looks like a place we could not resolve ("A3区", "天河区", "xx路").
_PLACE_LIKE = re.compile(
    r"[\u4e00-\u9fffA-Za-z0-9]{1,8}?(?:省|市|区|县|镇|街道|社区|村|路|大道|小区|花园|广场|大厦|公园|医院|学校|中学|小学)"
)
_SUFFIX = re.compile(r"(?:社区居民委员会|社区居委会|社区工作站|社区居委|社区|居委会|居委|村委会|村委|村)$")
_OTHER_UNIT_AFTER = re.compile(r"(?:县|市|省|州|自治)")
# Characters after which a name starts a new word: function words, punctuation, unit suffixes.
_LEFT_BOUNDARY = frozenset("在住到去来从往是的了和与及跟或我你他她家圳市区县镇省道村里边那这个说问找")


def _is_glued(prev: str) -> bool:
    return "\u4e00" <= prev <= "\u9fff" and prev not in _LEFT_BOUNDARY


_LEADING_VERBS = re.compile(r"^(?:我家|我们|我|家|住在|住|在|到|去|来|位于|是|的)+")
_NOT_A_PLACE = {
    "深圳市",
    "深圳",
    "本市",
    "我市",
    "市区",
    "小区",
    "社区",
    "街道",
    "辖区",
    "地区",
    "山区",
    "郊区",
}

_Path = tuple[str, ...]  # (district, street_code, community_code, grid_code), truncated at the deepest


class JurisdictionDataError(ValueError):
    """A data file (divisions, landmarks, aliases, grids) is malformed or inconsistent."""


@dataclass(frozen=True)
class Jurisdiction:
    """Where a resident's problem is, as far as the text tells.

    ``ambiguous`` lists candidate descriptions ("宝安区/福永街道/凤凰社区") when the text fits several
    units equally well; the unit fields then hold only what all candidates share. ``unknown_place``
    is a place-like fragment that matched nothing (e.g. "天河区").
    """

    district: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    landmark: str | None = None
    confidence: float = 0.0
    ambiguous: tuple[str, ...] = ()
    unknown_place: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    grid_name: str | None = None
    grid_officer: str | None = None
    evidence: tuple[str, ...] = field(default=())

    @property
    def is_unknown(self) -> bool:
        return self.district is None and not self.ambiguous

    def to_location_dict(self) -> dict[str, str | None]:
        """The contract's ``location`` object."""
        return {
            "district": self.district,
            "street": self.street,
            "community": self.community,
            "grid": self.grid,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "street": self.street,
            "community": self.community,
            "grid": self.grid,
            "landmark": self.landmark,
            "confidence": self.confidence,
            "ambiguous": list(self.ambiguous),
            "unknown_place": self.unknown_place,
            "street_code": self.street_code,
            "community_code": self.community_code,
            "grid_name": self.grid_name,
            "grid_officer": self.grid_officer,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class _Unit:
    level: str  # district | street | community | grid
    key: str  # district name (大鹏新区 and 深汕 have no code) or NBS / grid code
    name: str  # what we return
    path: _Path
    office: str | None = None  # 街道办事处 name, streets only


@dataclass(frozen=True)
class _Entry:
    path: _Path
    weight: float
    tier: int
    label: str | None = None  # landmark name, for the result


@dataclass(frozen=True)
class _Mention:
    surface: str
    start: int
    entries: tuple[_Entry, ...]
    in_context: bool

    @property
    def stem(self) -> str:
        """The name without its unit suffix: "城东村" and "城东" are the same evidence."""
        return _SUFFIX.sub("", self.surface) or self.surface


# Bounds that keep any input cheap: the weighing below compares every mention with every other, so
# 2,000 characters of "南山" (1,000 mentions) took 11 s before mentions were made distinct.
MAX_RESOLVE_CHARS = 2000
MAX_MENTIONS = 40


def _distinct(mentions: list[_Mention]) -> list[_Mention]:
    """The same name said again is the same evidence: keep its first mention (in context if any of its
    mentions was), and at most MAX_MENTIONS names."""
    first: dict[str, int] = {}
    out: list[_Mention] = []
    for m in mentions:
        k = first.get(m.surface)
        if k is None:
            if len(out) >= MAX_MENTIONS:
                continue
            first[m.surface] = len(out)
            out.append(m)
        elif m.in_context and not out[k].in_context:
            out[k] = _Mention(out[k].surface, out[k].start, out[k].entries, True)
    return out


@dataclass(frozen=True)
class _Grid:
    code: str
    name: str
    community_code: str
    keywords: tuple[str, ...]
    officer_role: str


def _clean(text: str, lower: bool = True) -> str:
    """Canonical form for matching: NFKC (full-width → half-width), simplified, lower-case, no spaces."""
    text = _SPACES.sub("", to_simplified(unicodedata.normalize("NFKC", text)))
    return text.lower() if lower else text


def _is_prefix(short: _Path, long: _Path) -> bool:
    return len(short) <= len(long) and long[: len(short)] == short


class JurisdictionResolver:
    """Resolve free text to 属地 units. Build once with :meth:`from_rows`; :meth:`resolve` is thread-safe."""

    def __init__(
        self,
        units: Mapping[_Path, _Unit],
        index: Mapping[str, tuple[_Entry, ...]],
        grids: Mapping[str, _Grid],
        fillers: Sequence[str],
        nbs_children: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._units = dict(units)
        self._nbs_children = dict(nbs_children or {})
        self._index = dict(index)
        self._grids = dict(grids)
        self._fillers = tuple(fillers)
        self._lengths = tuple(sorted({len(s) for s in self._index}, reverse=True))
        self._prefixes = frozenset(s[:2] for s in self._index)
        self._street_by_name: dict[str, _Unit] = {}
        for unit in self._units.values():
            if unit.level == "street":
                bare = re.sub(r"(街道|镇)$", "", unit.name)
                for form in (unit.name, bare, bare + "镇", bare + "街道"):
                    self._street_by_name.setdefault(form, unit)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_rows(
        cls,
        divisions: Iterable[Mapping[str, str]],
        landmarks: Iterable[Mapping[str, str]] = (),
        aliases: Iterable[Mapping[str, str]] = (),
        grids: Iterable[Mapping[str, str]] = (),
    ) -> JurisdictionResolver:
        builder = _IndexBuilder()
        builder.add_divisions(divisions)
        builder.add_aliases(aliases)
        builder.add_landmarks(landmarks)
        builder.add_grids(grids)
        return cls(builder.units, builder.finish(), builder.grids, builder.fillers(), builder.nbs_children)

    # ------------------------------------------------------------------ public API
    def place_names(self) -> list[str]:
        """Names worth a jieba user-dictionary entry / spaCy EntityRuler pattern: official names,
        suffix-less forms that are not everyday words, landmarks. Simplified characters."""
        names = set()
        for surface, entries in self._index.items():
            if len(surface) >= 2 and all(e.tier == _STRONG for e in entries):
                names.add(surface)
        for unit in self._units.values():
            if unit.level != "grid":
                names.add(unit.name)
        return sorted(names)

    def street_office(self, street: str) -> str:
        """The 街道办事处 that runs ``street`` ("粤海街道" or "粤海" → "粤海街道办事处").

        Raises ValueError for unknown names and for NBS street-level units that are not 街道
        (前海合作区, 福田保税区, 综合保税区, 宝安国际机场): they have no 街道办事处.
        """
        unit = self._street_by_name.get(_clean(street))
        if unit is None:
            raise ValueError(f"unknown street: {street!r}")
        if unit.office is None:
            raise ValueError(f"{unit.name} is a special zone, not a 街道; it has no 街道办事处")
        return unit.office

    def resolve(self, text: str) -> Jurisdiction:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        clean = _clean(text[:MAX_RESOLVE_CHARS * 2], lower=False)[:MAX_RESOLVE_CHARS]
        for filler in self._fillers:
            clean = clean.replace(filler, "")
        mentions = _distinct(self._scan(clean.lower()))
        if not mentions:
            return Jurisdiction(unknown_place=self._unknown_fragment(clean))
        return self._decide(mentions, clean)

    # ------------------------------------------------------------------ internals
    def _scan(self, text: str) -> list[_Mention]:
        mentions: list[_Mention] = []
        i, n, last_end = 0, len(text), -1
        index, lengths, prefixes = self._index, self._lengths, self._prefixes
        while i < n - 1:
            if text[i : i + 2] not in prefixes:
                i += 1
                continue
            for length in lengths:
                if i + length > n:
                    continue
                surface = text[i : i + length]
                entries = index.get(surface)
                if entries is None:
                    continue
                end = i + length
                in_context = bool(
                    _LOCATIVE_AFTER.match(text, end) or _LOCATIVE_BEFORE.search(text[max(0, i - 2) : i])
                )
                if _OTHER_UNIT_AFTER.match(text, end):
                    # "金湖县", "南昌市": another county or city that happens to share the name.
                    entries = tuple(e for e in entries if e.weight >= _W_FULL or e.label)
                elif _ROAD_AFTER.match(text, end) and not text.startswith("街道", end):
                    # A road named after a district lies in that district but tells no more; roads named
                    # after a street or community may cross district lines ("布吉路" is in 罗湖).
                    entries = tuple(
                        _Entry(e.path, e.weight * _ROAD_FACTOR, e.tier)
                        for e in entries
                        if len(e.path) == 1 and e.label is None
                    )
                    in_context = False
                if length <= 3 and i > 0 and i != last_end and _is_glued(text[i - 1]):
                    # A short name glued to the word before it is probably the tail of a longer name
                    # ("斑竹园村" is not 竹园社区, "聚龙华府" is not 龙华区): it needs support.
                    entries = tuple(
                        _Entry(e.path, e.weight, _COMMON)
                        if length <= 2 or (e.weight < _W_FULL and not e.label)
                        else e
                        for e in entries
                    )
                if entries:
                    mentions.append(_Mention(surface, i, entries, in_context))
                    last_end = end
                i = end
                break
            else:
                i += 1
        return mentions

    def _decide(self, mentions: list[_Mention], clean: str) -> Jurisdiction:
        # For every path, the mentions that name it or one of its ancestors, with their best weight.
        # A district named by its NBS parent ("龙岗区葵涌街道" for 大鹏新区) supports that district too.
        naming: dict[_Path, dict[int, float]] = {}
        for mi, m in enumerate(mentions):
            for e in m.entries:
                if e.tier == _COMMON:
                    continue  # an everyday word supports nothing
                targets = [e.path]
                if len(e.path) == 1:
                    targets += [(d,) for d in self._nbs_children.get(e.path[0], ())]
                for t in targets:
                    slot = naming.setdefault(t, {})
                    if e.weight > slot.get(mi, 0.0):
                        slot[mi] = e.weight
        districts = [{e.path[0] for e in m.entries if e.tier != _COMMON} for m in mentions]
        anchors: dict[_Path, float] = {}
        claimant: dict[_Path, int] = {}
        for ci, claim in enumerate(mentions):
            for entry in claim.entries:
                path = entry.path
                best: dict[int, float] = {}
                for depth in range(1, len(path) + 1):
                    for mi, w in naming.get(path[:depth], {}).items():
                        if w > best.get(mi, 0.0):
                            best[mi] = w
                # The same name repeated ("劳动…劳动") is one piece of evidence, not two.
                support = sum(w for mi, w in best.items() if mentions[mi].stem != claim.stem)
                # Weak names need context or a consistent mention; everyday words need the mention.
                if entry.tier == _COMMON and support <= 0.0:
                    continue
                # A weak name beside another place of the same district is read as a place too
                # ("沙井新桥": 新桥 was part of 沙井 until 2016 — two readings, reported as such).
                if entry.tier == _WEAK and support <= 0.0 and not claim.in_context:
                    if not any(
                        path[0] in districts[mi]
                        for mi in range(len(mentions))
                        if mentions[mi].stem != claim.stem
                    ):
                        continue
                score = entry.weight + support
                if score > anchors.get(path, -1.0):
                    anchors[path] = score
                    claimant[path] = ci
        if not anchors:
            return Jurisdiction(unknown_place=self._unknown_fragment(clean))

        ranked = sorted(anchors.items(), key=lambda kv: (-kv[1], -len(kv[0])))
        best_score = ranked[0][1]
        top = [p for p, s in ranked if s >= best_score - _TIE_EPS]
        chosen = max(top, key=len)
        if all(_is_prefix(p, chosen) for p in top):
            # A rival is another reading of the text, not another reading of a mention already used
            # ("南山" in "南山粤海" could be 南山街道, but 粤海 settles it).
            explained = {
                i for i, m in enumerate(mentions) if any(_is_prefix(e.path, chosen) for e in m.entries)
            }
            rivals = [
                s
                for p, s in ranked
                if not (_is_prefix(p, chosen) or _is_prefix(chosen, p)) and claimant[p] not in explained
            ]
            runner_up = max(rivals, default=0.0)
            confidence = round(best_score / (best_score + runner_up + 0.35), 3)
            return self._build(chosen, mentions, confidence, ())
        common = top[0]
        for p in top[1:]:
            k = 0
            while k < min(len(common), len(p)) and common[k] == p[k]:
                k += 1
            common = common[:k]
        # A candidate that is an ancestor of another adds nothing to the list.
        leaves = tuple(p for p in top if not any(q != p and _is_prefix(p, q) for q in top))
        confidence = round(0.3 * best_score / (best_score + 0.35), 3)
        return self._build(common, mentions, confidence, leaves)

    def _build(
        self, path: _Path, mentions: list[_Mention], confidence: float, candidates: tuple[_Path, ...]
    ) -> Jurisdiction:
        names: list[str | None] = [None, None, None, None]
        for depth in range(1, len(path) + 1):
            names[depth - 1] = self._units[path[:depth]].name
        targets = candidates or (path,)
        landmark = None
        evidence = []
        for m in mentions:
            used = [e for e in m.entries if any(_is_prefix(e.path, t) for t in targets)]
            if used:
                evidence.append(m.surface)
                if landmark is None and not candidates:
                    landmark = next((e.label for e in used if e.label), None)
        grid = self._grids.get(path[3]) if len(path) > 3 else None
        return Jurisdiction(
            district=names[0],
            street=names[1],
            community=names[2],
            grid=path[3] if len(path) > 3 else None,
            landmark=landmark,
            confidence=confidence,
            ambiguous=tuple(sorted(self._describe(p) for p in candidates)),
            street_code=path[1] if len(path) > 1 else None,
            community_code=path[2] if len(path) > 2 else None,
            grid_name=grid.name if grid else None,
            grid_officer=grid.officer_role if grid else None,
            evidence=tuple(evidence),
        )

    def _describe(self, path: _Path) -> str:
        return "/".join(self._units[path[:d]].name for d in range(1, len(path) + 1))

    def _unknown_fragment(self, clean: str) -> str | None:
        for match in _PLACE_LIKE.finditer(clean):
            fragment = _LEADING_VERBS.sub("", match.group(0))
            fragment = re.sub(r"^深圳市?", "", fragment)
            if len(fragment) >= 2 and fragment not in _NOT_A_PLACE:
                return fragment
        return None


class _IndexBuilder:
    """Collects units and surface forms from the data files, validating as it goes."""

    def __init__(self) -> None:
        self.units: dict[_Path, _Unit] = {}
        self.grids: dict[str, _Grid] = {}
        self._surfaces: dict[str, dict[_Path, _Entry]] = {}
        self._district_by_name: dict[str, _Path] = {}
        self._street_by_code: dict[str, _Path] = {}
        self._street_by_name: dict[tuple[str, str], _Path] = {}  # (district, street name or bare)
        self._community_by_code: dict[str, _Path] = {}
        self._community_by_name: dict[tuple[_Path, str], _Path] = {}  # (street path, short/core)
        self._weak_words: set[str] = set()
        self._common_words: set[str] = set()
        # NBS district → functional districts carved out of it (龙岗区 → 大鹏新区).
        self.nbs_children: dict[str, tuple[str, ...]] = {}

    # -- divisions
    def add_divisions(self, rows: Iterable[Mapping[str, str]]) -> None:
        rows = list(rows)
        if not rows:
            raise JurisdictionDataError("division list is empty")
        for col in ("code", "name", "level", "parent_code", "short_name", "functional_district"):
            if col not in rows[0]:
                raise JurisdictionDataError(f"division list lacks column {col!r}")
        for row in rows:
            if row["level"] == "district":
                self._add_district(row["name"])
        names = {r["code"]: _clean(r["name"]) for r in rows if r["level"] == "district"}
        for row in rows:
            if row["level"] == "street":
                self._add_district(row["functional_district"])
                self._add_street(row)
                parent, functional = names.get(row["parent_code"]), _clean(row["functional_district"])
                if parent and parent != functional and functional not in self.nbs_children.get(parent, ()):
                    self.nbs_children[parent] = (*self.nbs_children.get(parent, ()), functional)
        for row in rows:
            if row["level"] == "community":
                self._add_community(row)

    def _add_district(self, name: str) -> None:
        name = _clean(name)
        if name in self._district_by_name:
            return
        path: _Path = (name,)
        self._district_by_name[name] = path
        self.units[path] = _Unit("district", name, name, path)
        self._surface(name, path, _W_FULL, _STRONG)
        bare = re.sub(r"(特别合作区|新区|区)$", "", name)
        if len(bare) >= 2:
            self._surface(bare, path, _W_FULL, _STRONG)

    def _add_street(self, row: Mapping[str, str]) -> None:
        district = _clean(row["functional_district"])
        code = row["code"]
        nbs_name = _clean(row["name"])
        name = nbs_name
        office: str | None = None
        bare = re.sub(r"(街道|镇)$", "", nbs_name)
        if district == SHENSHAN and nbs_name.endswith("镇"):
            # NBS codes 深汕's units as towns of 海丰县; Shenzhen runs them as 街道.
            name = bare + "街道"
        if name.endswith("街道"):
            office = name + "办事处"
        path: _Path = (district, code)
        self.units[path] = _Unit("street", code, name, path, office)
        self._street_by_code[code] = path
        for form in {name, nbs_name}:
            self._street_by_name[(district, form)] = path
            self._surface(form, path, _W_FULL, _STRONG)
        if office:
            self._street_by_name[(district, bare)] = path
            self._surface(bare + "街道办", path, _W_FULL, _STRONG)
            self._surface(bare + "街道办事处", path, _W_FULL, _STRONG)
            self._surface(bare + "镇", path, _W_STREET_BARE, _STRONG)  # old town names: 观澜镇, 沙井镇
            if len(bare) >= 2:
                self._surface(bare, path, _W_STREET_BARE, _STRONG)

    def _add_community(self, row: Mapping[str, str]) -> None:
        street = self._street_by_code.get(row["parent_code"])
        if street is None:
            raise JurisdictionDataError(f"community {row['code']} has unknown parent {row['parent_code']}")
        short = _clean(row["short_name"])
        if "虚拟" in short:
            return  # NBS placeholders for special zones; nobody lives "in" them
        path: _Path = (*street, row["code"])
        self.units[path] = _Unit("community", row["code"], short, path)
        self._community_by_code[row["code"]] = path
        self._surface(row["name"], path, _W_FULL, _STRONG)
        self._community_by_name[(street, short)] = path
        if "社区" in short and not short.endswith("社区"):
            # Compound NBS names: "杨美社区嘉丽园" is one of three committees of 杨美社区.
            head, tail = short.split("社区", 1)
            self._surface(short, path, _W_FULL, _STRONG)
            self._surface(head + "社区", path, _W_PART, _STRONG)
            self._surface(head, path, _W_COMMUNITY_BARE, _STRONG if len(head) >= 3 else _WEAK)
            if tail != head:
                # "爱联社区爱联" vs "爱联社区顺景": a bare "爱联" means the whole 爱联社区, i.e. either.
                self._surface(head + tail, path, _W_PART, _STRONG)
                self._surface(tail, path, _W_PART, _STRONG if len(tail) >= 3 else _WEAK)
                self._community_by_name[(street, tail)] = path
            return
        if short.endswith("社区"):
            core = short[: -len("社区")]
            self._surface(short, path, _W_FULL, _STRONG)
        elif short.endswith("村"):
            # 深汕 villages: "旺渔村" is the full name; "旺渔" alone is a bare name.
            self._surface(short, path, _W_FULL, _STRONG)
            self._surface(short + "委会", path, _W_FULL, _STRONG)
            self._surface(short + "委", path, _W_FULL, _STRONG)
            if len(short) >= 3:
                self._surface(short[:-1], path, _W_COMMUNITY_BARE, _WEAK)
            return
        else:
            core = short  # 盐田区 writes "小梅沙居委会": the short name is already bare
        self._community_by_name[(street, core)] = path
        for suffix in ("社区", "居委会", "社区居委会", "社区居委", "居委", "社区居民委员会", "社区工作站"):
            self._surface(core + suffix, path, _W_FULL, _STRONG)
        if len(core) < 2:
            return
        if not core.endswith("村"):
            # Urban villages keep their old name: "岗厦村", "上沙村".
            self._surface(core + "村", path, _W_COMMUNITY_BARE, _STRONG)
        self._surface(core, path, _W_COMMUNITY_BARE, _STRONG if len(core) >= 3 else _WEAK)

    # -- aliases, landmarks, grids
    def _parse_target(self, target: str, where: str) -> _Path:
        parts = [_clean(p) for p in target.split("/") if p.strip()]
        if not parts:
            raise JurisdictionDataError(f"{where}: empty target")
        path = self._district_by_name.get(parts[0])
        if path is None:
            raise JurisdictionDataError(f"{where}: unknown district {parts[0]!r}")
        if len(parts) >= 2:
            street = self._street_by_name.get((path[0], parts[1]))
            if street is None:
                raise JurisdictionDataError(f"{where}: {parts[1]!r} is not a street of {parts[0]}")
            path = street
        if len(parts) >= 3:
            community = self._community_by_name.get((path, re.sub(r"社区$", "", parts[2]))) or (
                self._community_by_name.get((path, parts[2]))
            )
            if community is None:
                raise JurisdictionDataError(f"{where}: {parts[2]!r} is not a community of {parts[1]}")
            path = community
        if len(parts) > 3:
            raise JurisdictionDataError(f"{where}: target has more than district/street/community")
        return path

    def add_aliases(self, rows: Iterable[Mapping[str, str]]) -> None:
        for n, row in enumerate(rows, start=2):
            alias, kind = _clean(row.get("alias", "")), row.get("kind", "")
            where = f"place_aliases.csv row {n} ({alias})"
            if len(alias) < 2:
                raise JurisdictionDataError(f"{where}: alias must have at least 2 characters")
            if kind == "common_word":
                self._common_words.add(alias)
            elif kind == "weak_word":
                self._weak_words.add(alias)
            elif kind in ("former_name", "colloquial", "area", "typo"):
                path = self._parse_target(row.get("target", ""), where)
                weight = _W_FULL * (_TYPO_FACTOR if kind == "typo" else 1.0)
                if kind == "area":
                    weight = _W_STREET_BARE
                self._surface(alias, path, weight, _STRONG)
            else:
                raise JurisdictionDataError(f"{where}: unknown kind {kind!r}")

    def add_landmarks(self, rows: Iterable[Mapping[str, str]]) -> None:
        for n, row in enumerate(rows, start=2):
            name = row.get("name", "")
            where = f"landmarks.csv row {n} ({name})"
            if not name or not row.get("kind") or not row.get("district"):
                raise JurisdictionDataError(f"{where}: name, kind and district are required")
            if row.get("community") and not row.get("street"):
                raise JurisdictionDataError(f"{where}: community given without street")
            target = "/".join(
                p for p in (row["district"], row.get("street", ""), row.get("community", "")) if p
            )
            path = self._parse_target(target, where)
            forms = [name] + [a for a in re.split(r"[|｜]", row.get("aliases", "")) if a.strip()]
            if row["kind"] == "metro":
                forms += [f[:-1] + "地铁站" for f in list(forms) if f.endswith("站") and len(f) >= 3]
            for form in forms:
                if len(_clean(form)) < 2:
                    raise JurisdictionDataError(f"{where}: alias {form!r} is too short")
                self._surface(form, path, _W_LANDMARK, _STRONG, label=name)

    def add_grids(self, rows: Iterable[Mapping[str, str]]) -> None:
        for n, row in enumerate(rows, start=2):
            code, name = row.get("grid_code", ""), row.get("grid_name", "")
            where = f"grid file row {n} ({code})"
            community = self._community_by_code.get(row.get("community_code", ""))
            if not code or not name or community is None:
                raise JurisdictionDataError(
                    f"{where}: grid_code, grid_name and a known community_code are required"
                )
            if code in self.grids:
                raise JurisdictionDataError(f"{where}: duplicate grid code")
            keywords = tuple(_clean(k) for k in re.split(r"[|｜]", row.get("keywords", "")) if k.strip())
            if not keywords:
                raise JurisdictionDataError(f"{where}: no keywords")
            path: _Path = (*community, code)
            grid = _Grid(code, name, community[2], keywords, row.get("officer_role", "") or "网格员")
            self.grids[code] = grid
            self.units[path] = _Unit("grid", code, code, path)
            for kw in keywords:
                if len(kw) < 3:
                    raise JurisdictionDataError(f"{where}: keyword {kw!r} shorter than 3 characters")
                if not all(_is_prefix(p, path) for p in self._surfaces.get(kw, {})):
                    raise JurisdictionDataError(f"{where}: keyword {kw!r} already names another place")
                self._surface(kw, path, _W_GRID, _STRONG)

    def _surface(self, form: str, path: _Path, weight: float, tier: int, label: str | None = None) -> None:
        form = _clean(form)
        entries = self._surfaces.setdefault(form, {})
        old = entries.get(path)
        if old is None:
            entries[path] = _Entry(path, weight, tier, label)
        else:
            entries[path] = _Entry(path, max(weight, old.weight), min(tier, old.tier), old.label or label)

    def finish(self) -> dict[str, tuple[_Entry, ...]]:
        for word in self._common_words | self._weak_words:
            if word not in self._surfaces:
                raise JurisdictionDataError(f"place_aliases.csv: {word!r} marked as word but names no place")
        index: dict[str, tuple[_Entry, ...]] = {}
        for form, by_path in self._surfaces.items():
            entries = list(by_path.values())
            top = min(len(e.path) for e in entries)
            adjusted = []
            for e in entries:
                weight, tier = e.weight, e.tier
                if len(e.path) > top and weight < _W_FULL and e.label is None:
                    weight *= _DEMOTE_FACTOR
                stem = form[:-1] if form[-1] in "村镇" and e.label is None else form
                if form in self._common_words or stem in self._common_words:
                    tier = _COMMON
                elif form in self._weak_words or stem in self._weak_words:
                    tier = max(tier, _WEAK)
                adjusted.append(_Entry(e.path, weight, tier, e.label))
            index[form] = tuple(sorted(adjusted, key=lambda e: (-e.weight, e.path)))
        return index

    def fillers(self) -> list[str]:
        # Never strip a filler that is part of a place name.
        return [f for f in _FILLERS if not any(f in s for s in self._surfaces)]
