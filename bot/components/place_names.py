"""Builds the NLU's place-name resources from data/shenzhen_divisions.csv.

Writes (all generated, committed so that `rasa train` needs no build step; rerun after the
divisions file changes: `python -m bot.components.place_names`):
- bot/components/jieba_dict/userdict.txt — jieba user dictionary: place names and service terms, so
  that "粤海街道" or "社保卡" stay one token;
- nlu_data/lookups/places.yml — lookup tables district / street / community (longest first,
  because the lookup regex is an alternation and the first alternative wins) and synonyms that map
  what residents say ("南山", "西乡", "鲘门") to the official name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Places", "load_places", "render_jieba_dict", "render_lookups", "main"]

ROOT = Path(__file__).resolve().parents[2]
DIVISIONS = ROOT / "data" / "shenzhen_divisions.csv"
JIEBA_DICT = ROOT / "bot" / "components" / "jieba_dict" / "userdict.txt"
LOOKUPS = ROOT / "nlu_data" / "lookups" / "places.yml"

# Names residents use that are not NBS units (see data/README.md, quirks).
_EXTRA_DISTRICTS = {"大鹏新区": ["大鹏"], "深汕特别合作区": ["深汕合作区", "深汕"]}
_FORMER_DISTRICT_NAMES = {"光明新区": "光明区", "坪山新区": "坪山区", "龙华新区": "龙华区"}
# Shenzhen calls the four 深汕 towns 街道, and NBS writes 鲘门 as 鮜门.
_TOWN_AS_STREET = {"小漠镇": "小漠街道", "鹅埠镇": "鹅埠街道", "赤石镇": "赤石街道", "鮜门镇": "鲘门街道"}

# Service and incident words jieba would otherwise split ("社保卡" → "社保"/"卡").
SERVICE_TERMS = [
    "社保卡", "医保卡", "身份证", "居住证", "港澳通行证", "户口本", "出生证明", "结婚证", "离婚证",
    "公积金", "住房公积金", "养老保险", "医疗保险", "失业保险", "生育保险", "工伤保险", "灵活就业",
    "低保", "残疾证", "老年人优待证", "高龄津贴", "积分入户", "人才引进", "新生儿落户", "随迁入户",
    "营业执照", "个体工商户", "不动产登记", "房产证", "学位申请", "小一学位", "义务教育", "积分入学",
    "驾驶证", "行驶证", "违章查询", "电动车", "电动自行车", "新能源车", "消防安全检查",
    "噪音扰民", "违章建筑", "违建", "占道经营", "乱摆卖", "乱停车", "油烟扰民", "垃圾清运",
    "下水道", "化粪池", "井盖", "路灯", "红绿灯", "斑马线", "人行道", "共享单车", "渣土车",
    "物业", "业委会", "城中村", "出租屋", "群租房", "农民工", "欠薪", "拖欠工资", "劳动仲裁",
    "满意", "基本满意", "不满意", "非常满意", "很不满意", "非常不满意",
    "12345", "工单号", "转人工", "人工客服", "催办", "撤销", "撤单", "办结", "回访",
]


@dataclass
class Places:
    """Official names and the short forms residents say for them."""

    districts: list[str] = field(default_factory=list)
    streets: list[str] = field(default_factory=list)
    communities: list[str] = field(default_factory=list)
    synonyms: dict[str, list[str]] = field(default_factory=dict)


def load_places(path: Path = DIVISIONS) -> Places:
    places = Places()
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} has no rows")
    for row in rows:
        level, short = row["level"], row["short_name"].strip()
        if level == "district":
            places.districts.append(short)
        elif level == "street":
            places.streets.append(_TOWN_AS_STREET.get(short, short))
        elif level == "community":
            places.communities.append(short)
    places.districts += [d for d in _EXTRA_DISTRICTS if d not in places.districts]
    for district in places.districts:
        forms = list(_EXTRA_DISTRICTS.get(district, []))
        if district.endswith("区") and len(district) >= 3 and district not in _EXTRA_DISTRICTS:
            forms.append(district[:-1])
        forms += [old for old, new in _FORMER_DISTRICT_NAMES.items() if new == district]
        if forms:
            places.synonyms[district] = forms
    # "福田" is the district 福田区 far more often than the street 福田街道, "大鹏" is 大鹏新区:
    # a bare street name that is also a district form stays a district.
    district_forms = {d[:-1] for d in places.districts if d.endswith("区")}
    district_forms |= {form for forms in places.synonyms.values() for form in forms}
    for street in places.streets:
        bare = street.removesuffix("街道")
        forms = [bare] if bare != street and bare not in district_forms and len(bare) >= 2 else []
        if street == "鲘门街道":
            forms += ["鮜门镇", "鲘门镇", "鮜门"]
        elif street.endswith("街道") and street[:-2] + "镇" in _TOWN_AS_STREET:
            forms += [street[:-2] + "镇"]
        if forms:
            places.synonyms[street] = forms
    places.districts = sorted(set(places.districts), key=lambda s: (-len(s), s))
    places.streets = sorted(set(places.streets), key=lambda s: (-len(s), s))
    places.communities = sorted(set(places.communities), key=lambda s: (-len(s), s))
    return places


def render_jieba_dict(places: Places) -> str:
    """jieba user dictionary lines `word freq tag`; high frequencies so place names win segmentation."""
    lines: list[str] = []
    seen: set[str] = set()

    def add(word: str, freq: int, tag: str) -> None:
        if word not in seen:
            seen.add(word)
            lines.append(f"{word} {freq} {tag}")

    for name in places.districts + places.streets + places.communities:
        add(name, 20000, "ns")
    for forms in places.synonyms.values():
        for form in forms:
            add(form, 10000, "ns")
    for term in SERVICE_TERMS:
        add(term, 10000, "n")
    return "\n".join(lines) + "\n"


def _yaml_list(items: list[str], indent: str = "      ") -> str:
    return "\n".join(f"{indent}- {item}" for item in items)


def render_lookups(places: Places) -> str:
    longest_first = lambda names: sorted(set(names), key=lambda s: (-len(s), s))  # noqa: E731
    district_forms = places.districts + [f for d in places.districts for f in places.synonyms.get(d, [])]
    street_forms = places.streets + [f for s in places.streets for f in places.synonyms.get(s, [])]
    parts = [
        "# Generated by `python -m bot.components.place_names` from data/shenzhen_divisions.csv.",
        "# Do not edit by hand.",
        'version: "3.1"',
        "nlu:",
        "  - lookup: district",
        "    examples: |",
        _yaml_list(longest_first(district_forms)),
        "  - lookup: street",
        "    examples: |",
        _yaml_list(longest_first(street_forms)),
        "  - lookup: community",
        "    examples: |",
        _yaml_list(places.communities),
    ]
    for official, forms in sorted(places.synonyms.items()):
        parts += [f"  - synonym: {official}", "    examples: |", _yaml_list(sorted(set(forms)))]
    return "\n".join(parts) + "\n"


def main() -> None:
    places = load_places()
    JIEBA_DICT.parent.mkdir(parents=True, exist_ok=True)
    JIEBA_DICT.write_text(render_jieba_dict(places), encoding="utf-8")
    LOOKUPS.parent.mkdir(parents=True, exist_ok=True)
    LOOKUPS.write_text(render_lookups(places), encoding="utf-8")
    print(f"{JIEBA_DICT}: {len(render_jieba_dict(places).splitlines())} words; {LOOKUPS} written")


if __name__ == "__main__":
    main()
