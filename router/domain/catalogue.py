"""The service catalogue (政务服务事项): what a resident can apply for, and how to find it from what they say.

Residents ask in their own words ("社宝断了怎么补交", "老人卡在哪里办"), so search normalises the text
(full-width → half-width, traditional → simplified, homophones and colloquial names → the catalogue's
words), cuts it with jieba and scores items with a BM25F-style model over the item name, the phrases
residents use, and the catalogue (主项) name. The score is normalised to [0, 1]: the share of the question's
informative words (weighted by IDF) that the item matches, so an unrelated question ("今天天气怎么样")
scores low even when one word happens to appear somewhere, and a threshold means the same thing for
every query. Words the synonym table marks as ``term`` (社保, 入户, 签注...) count as evidence of a service
question on their own; words for people (父母, 小孩) count less; numbers, street names and clauses that only
say what is already done ("合同已经备案了") are the resident's situation, not the need.

Items come from two kinds of source: authored Shenzhen items (router/data/services/authored_*.jsonl) and
imported catalogues (the 2021 广东政务服务网 scrape in data/, or a CSV/JSON/JSONL a city provides). The
imported provincial scrape is filtered to items residents ask about and deduplicated on name+department.

Pure: ``Catalogue(...)`` is built from items and rows already read; router/adapters/reference_data.py
(``load_catalogue``, ``read_items``) reads the files.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import jieba

from router.domain.normalise import to_simplified

__all__ = [
    "HANDLED_AT",
    "Catalogue",
    "CatalogueError",
    "Hall",
    "Hit",
    "ServiceItem",
    "TextNormaliser",
    "is_resident_relevant",
    "items_from_records",
    "synonyms_from_rows",
    "terms_from_rows",
    "street_names_from_rows",
    "halls_from_rows",
]

HANDLED_AT = ("district_hall", "street_hall", "community", "online_only", "agency_window")

# Below this a hit is noise: calibrated on the SMP2017 out-of-scope utterances (bench/catalogue_bench.py).
DEFAULT_MIN_SCORE = 0.5
# Imported provincial items are real but describe Guangzhou windows and 2021 rules; the authored Shenzhen
# item should win an everyday question they both match.
IMPORTED_PRIOR = 0.85

_FIELD_WEIGHTS = {"name": 3.0, "phrases": 2.0, "catalog": 1.5, "department": 0.5}
_K1 = 1.2
_B = 0.3
# A term seen once in an item name at average length counts as a full match.
_REF_TF = _FIELD_WEIGHTS["name"]
# Query pieces: single characters say less than words; words the catalogue never uses weigh this share of
# the rarest known word; an unknown word matched only through one of its characters earns this credit.
_SINGLE_CHAR_WEIGHT = 0.5
_UNKNOWN_WEIGHT = 0.6
# A known word inside a longer one the question says (居住 in 居住证, 不动 and 动产 in 不动产) weighs this
# share in coverage, so a long compound does not outweigh the rest of the question; evidence counts it whole.
_SUBWORD_WEIGHT = 0.5
_CHAR_CREDIT = 0.6
# Coverage alone would give "吃啥呀" full marks for whatever mentions 吃: a match must also carry about one
# specific word's worth of IDF (its sub-words included, 居住证 = 居住 + 居住证) before it counts fully.
_EVIDENCE_REF = 9.0
# A service's own word (the synonym table's ``term`` rows: 社保, 入户, 签注...) is evidence of a service
# question by itself, however many items share it and so however low its IDF: it counts at least this
# much towards _EVIDENCE_REF ("入户要什么条件" names no item, but it is a service question). IDF says which
# item; it cannot say whether a word is about a service at all.
_TERM_EVIDENCE = 5.5
# Words for people say whom the question is about, not which service: they tell items apart (老人随迁 from
# 子女随迁) but count only this share as evidence ("我儿子的妈妈" is not a question about 家庭共济).
_PEOPLE = frozenset("小孩 父母 配偶 老人 子女 家人 家属 夫妻 亲属".split())
_PEOPLE_EVIDENCE = 0.5
# The score is coverage ** _GAMMA × evidence: residents wrap the need in their own words (where they live,
# who they are, what happened), so words an item does not match lower the score less than in proportion;
# the evidence term keeps a stray catalogue word in chit-chat below the threshold. Chosen on the service dev
# set, a set of questions written for the purpose, and the SMP2017 out-of-scope utterances.
_GAMMA = 0.5
# Raises the score this share of the way to 1 when the question says an item's name or one of its phrases
# (3+ characters) word for word.
_PHRASE_BONUS = 0.5
_PHRASE_MIN_CHARS = 3
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")
_GENERIC_TAIL = re.compile("(?:登记|申请|办理|预约|服务|手续|业务)+$")
# A question about the procedure itself: where, how, what papers.
_PROCEDURE = re.compile("办|申请|手续|登记|预约|流程|材料|去哪|哪里|边度|点样|怎么")
# Share of an item's score that comes from the whole question rather than its best clause.
_WHOLE_SHARE = 0.3

# Words that say nothing about *which* service: question scaffolding, politeness, and the aspect of the
# question (materials, where, how long), which the answer covers for every item anyway.
_STOPWORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 哦 嘛 么 着 过 和 与 及 或 跟 在 是 有 没 没有 不 也 都 还 就 又 要 想 想要 需要 需 得 能 能不能
    有没有 有无 可以 可不可以 会 该 应该 我 我们 你 你们 您 他 她 它 他们 自己 本人 这 那 这个 那个 哪 哪个 哪些 哪里 哪儿 什么 啥
    怎么 怎么样 怎样 如何 怎么办 咋 咋办 为什么 多少 多久 几 几天 一下 一个 个 请问 请 你好 您好 谢谢 麻烦 帮 帮忙 帮我
    问 问下 问一下 咨询 知道 告诉 办 办理 办个 去 到 给 把 被 让 用 从 对 为 以 等 上 下 里 中 后 前 时 时候 现在 已经 刚
    刚刚 马上 一直 还是 然后 所以 因为 但是 如果 该怎么 需要什么 要什么 带 带什么 材料 资料 手续 流程 步骤 条件 要求
    地方 地址 窗口 时间 费用 收费 钱 多长时间 几天能 能办 能否 是否 可否 情况 方面 相关 有关 关于 事情 事 东西 一些 这些
    那些 每 各 个人 人 快 慢 好 行 对吗 可以吗 吗？ 呢？ 里面 哪家 谁 哪位 申请 申办 如何办 在哪办 在哪 哪儿办 深圳 深圳市
    我家 家里 今天 明天 昨天 最近 刚才 一直 好像 已经 真的 非常 特别 太 很
    不能 不能自己 能否 就是 就是说 弄 搞 整 咋弄 咋整 怎么弄 怎么搞 要怎么 应该怎么 还要 还是 不过 其实 反正 那么 这么 然后呢
    想问 想问下 问问 了解 了解一下 打听 打听一下 请教 老师 同志 领导 师傅 大哥 大姐 阿姨 叔叔
    网上 线上 在线 手机上 自助机 自助 机器 现场 上门 跑 跑腿 跑一趟 预约 排队
    每个月 每个 每月 一份 一张 一本 一次 一趟 一声 今年 明年 去年 前年 下周 上周 下个月 上个月 这个月 这两天 之前 以前 以后 之后 听说
    要不要 不要 可不可以 行不行 能不能够 带啥 什么时候 啥时候 到底 究竟 办手续 手续 办下来 下来 起来 出来 过来 回来
    哪个 哪种 哪边 哪一个 去哪 去哪儿 去哪里 到哪 到哪里 在哪里 在哪儿 找谁 找哪个 打电话 电话 网站 系统 小程序 app 是不是 对不对
    加急 急用 急着 尽快 快点 加快 赶时间 最快 多快
    谢谢你 谢谢您 您好呀 你好呀 拜托 急 急急 急急急 着急 麻烦你 麻烦您 想请问 想咨询 请问一下 我想 我要 我们 咱们 人家
    系 系咪 咩 乜 乜嘢 点样 点 嘅 咗 啲 唔 唔该 冇 係 喺 嗰 呢个 嗰个 佢 我哋 你哋 啦 喎 嘛 咧 吖 喂 哎 唉 嗯
    来电 来电人 来电人称 来电市民 来信 来信人 市民 询问 反映 诉求 表示 称 其 本人系 现 现准备 准备 打算
    """.split()
)
# A lone character is informative only when it names the action or the thing (丢 → 补领, 租 → 租房);
# 吃, 做, 学, 转 alone match too much of the catalogue by accident.
_SINGLE_CHARS = frozenset("丢补换锁租卖退迁残房车狗犬电水税卡证扔")
# Function characters: never informative, in the catalogue or in a question.
_SKIP_CHARS = frozenset(
    "的了吗呢吧啊呀哦嘛么着过和与及或在是有不也都还就又要想得能会该我你您他她它这那哪啥几个请问给把被让用从对为以等上下里中后前时人钱事"
)

# A verb on its own stands for the catalogue's word for it ("社保怎么交" is about 缴费, "公积金怎么取" about
# 提取, "社保在哪查" about 查询, "医保能报吗" about 报销); inside a longer word (交通, 提交, 取消, 检查, 报名)
# jieba keeps the longer word and the alias does not apply.
_WORD_ALIASES = {
    "交": "缴费", "缴": "缴费", "取": "提取", "续": "签注", "转": "转移", "查": "查询", "报": "报销", "断": "断缴",
}

_CJK_OR_WORD = re.compile(r"[0-9a-z\u3400-\u9fff]+")
# A number the catalogue does not use ("八十五", "2023", "三") is the resident's age, a year or a count: it
# says nothing about the service, and is not held against an item either ("65" and "12" are catalogue words).
_NUMBER = re.compile("[0-9零一二两三四五六七八九十百千万]+")
_LIST_SPLIT = re.compile(r"[|；;\n]+")


class CatalogueError(ValueError):
    """A catalogue source is malformed (missing fields, unknown handled_at, duplicate ids...)."""


@dataclass(frozen=True)
class ServiceItem:
    """One service a resident can apply for, with how and where."""

    id: str
    name: str
    department: str
    item_type: str = ""
    conditions: str = ""
    materials: tuple[str, ...] = ()
    handled_at: str = "online_only"
    window: str = ""
    online: str = ""
    time_limit: str = ""
    fee: str = ""
    phrases: tuple[str, ...] = ()
    source: str = "authored"
    catalog_name: str = ""
    districts: tuple[str, ...] = ()
    consult_phone: str = ""

    def __post_init__(self) -> None:
        for name in ("id", "name", "department"):
            if not getattr(self, name).strip():
                raise CatalogueError(f"service item needs a non-empty {name!r}: {self.id or self.name!r}")
        if self.handled_at not in HANDLED_AT:
            raise CatalogueError(f"item {self.id}: handled_at {self.handled_at!r} is not one of {HANDLED_AT}")
        if self.handled_at == "agency_window" and not self.window.strip():
            raise CatalogueError(f"item {self.id}: handled_at 'agency_window' needs the window text")

    @property
    def authored(self) -> bool:
        return self.source == "authored"

    def to_summary(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "department": self.department}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("materials", "phrases", "districts"):
            data[key] = list(data[key])
        return data


@dataclass(frozen=True)
class Hit:
    item: ServiceItem
    score: float  # in [0, 1]; see the module docstring for what it means

    def to_summary(self) -> dict[str, Any]:
        return {**self.item.to_summary(), "score": round(self.score, 3)}


@dataclass(frozen=True)
class Hall:
    """A place where residents apply in person: a district 行政服务大厅 or a street 党群服务中心."""

    level: str  # city | district | street
    district: str
    street: str
    name: str
    address: str = ""
    hours: str = ""
    verify: bool = True


def _replacer(mapping: Mapping[str, str]) -> Callable[[re.Match[str]], str]:
    return lambda m: mapping[m.group(0)]


class TextNormaliser:
    """Full-width → half-width, traditional → simplified, lower case, then the synonym table, longest first.

    The synonym table is applied to item text and queries alike, so both meet in the same words. Canonical
    forms are themselves rewritten until stable, so chains (深户→深圳户籍, 户籍→户口) end in one place.
    """

    def __init__(self, synonyms: Mapping[str, str]) -> None:
        base = {self._basic(k): self._basic(v) for k, v in synonyms.items() if k.strip() and v.strip()}
        mapping = dict(base)
        for _ in range(3):
            # Canonical forms match themselves so a canonical containing a variant (往来港澳通行证 ⊃
            # 港澳通行证) is left alone: longest match wins.
            full = {**{v: v for v in mapping.values()}, **mapping}
            pattern = self._pattern(full)
            mapping = {k: pattern.sub(_replacer(full), v) if k != v else v for k, v in mapping.items()}
        for canonical in set(mapping.values()):
            mapping.setdefault(canonical, canonical)
        self._map = mapping
        self._re = self._pattern(mapping)

    @staticmethod
    def _pattern(mapping: Mapping[str, str]) -> re.Pattern[str]:
        keys = sorted(mapping, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, keys))) if keys else re.compile(r"(?!x)x")

    def _basic(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        if not text.isascii():
            text = to_simplified(text)
        return text.lower()

    @property
    def variants(self) -> frozenset[str]:
        """Every word the table rewrites."""
        return frozenset(k for k, v in self._map.items() if k != v)

    @property
    def terms(self) -> frozenset[str]:
        """Every canonical word, for the tokenizer's dictionary."""
        return frozenset(self._map.values())

    def __call__(self, text: str) -> str:
        return self._re.sub(lambda m: self._map[m.group(0)], self._basic(text))


def _split_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        parts: Iterable[Any] = _LIST_SPLIT.split(value)
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        raise CatalogueError(f"expected a list or a '|'-separated string, got {type(value).__name__}")
    return tuple(str(p).strip() for p in parts if str(p).strip())


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


# ---- the 2021 广东政务服务网 scrape: which items residents actually ask about -------------------------

_RESIDENT_THEMES = frozenset(
    """社会保障（社会保险、社会救助） 出境入境 证件办理 户籍办理 生小孩 婚姻登记 结婚 退休 离职退休 残疾人 社会救助 升学
    义务教育 生育收养 找工作 就业创业 失业 高校毕业生 公用事业 医疗卫生 司法公证 纳税 儿童青少年 妇女 人才 创业 老年人
    养老服务 住房保障 买房子 迁居 行政缴费""".split()
)
_RESIDENT_DEPARTMENTS = frozenset(
    """广东省人力资源和社会保障厅 广东省公安厅 广东省民政厅 广东省残疾人联合会 广东电网有限责任公司 广东省退役军人事务厅
    国家税务总局广东省税务局 广东省卫生健康委员会 广东省教育厅 广东省医疗保障局 广东省高等学校毕业生就业指导中心
    广东省司法厅 广东省妇女联合会 广东省住房和城乡建设厅""".split()
)
# Items for professionals, companies and specialists, and portal pages (exhibitions, notices) that are not
# something a resident applies for.
_NOT_FOR_RESIDENTS = re.compile(
    "企业|公司|资质|移植|海域|海岛|弩|枪支|爆破|律师|公证员|航道|航标|港口|危险|剧毒|化学品|教材|课程|外商|代表机构|代表处|"
    "举办者|设立|监理|勘察|造价|建造师|建筑师|工程师|估价师|药师|医师|护士|出口|增值税|发票|批量|高压|统建|非居民|表彰|奖励|"
    "广告|疫情|名单|公示|公布|考试员|监所|被监管|境外非政府|宗教|捐赠|文物|渔|船|水产|林木|草原|种子|兽|农药|化肥|饲料|"
    "股票|认购证|开奖|抽签|咨询$|宣传|热线|保全|——|电话$|试点|采砂|测绘|地图|专家|学会|协会|检测|检验|计量|特种设备|药品|医疗器械|实验|科研|课题|研究所|展|党员|档案材料|申诉|"
    "信访|政府信息|行政复议|机关事业单位|公务员|事业单位|宗教|知青|随军|技工学校|技工院校|债权文书|专利|商标|股权|著作权|"
    "招拍挂|抵押登记（公证）|合同公证|项目报告|税务登记|扣缴|停业|复业|出口退|协商程序|居民身份证明的开具|定额|延期缴纳|"
    "跨省就业|公费师范生|学历鉴定|转链接|违纪|初审|复审|备案信息|减容|增容|改类|移表|暂拆|直驳|受电装置|临时用电|工单|户号|"
    "审批|执业|注册|考核|核准|职业资格（|专业技术资格|职业资格考试|资格考试|资格认定|审定|复查|招生就业|学术|查询服务$"
)


def is_resident_relevant(record: Mapping[str, Any]) -> bool:
    """True for a scraped provincial item a Shenzhen resident might ask about.

    Keeps 自然人 items of the resident-facing departments, drops Guangzhou city windows (a
    Shenzhen resident cannot use them) and items for professionals, companies and specialists.
    """
    if "自然人" not in (record.get("service_object") or ["自然人"]):
        return False
    if record.get("level") == "市级" and str(record.get("area_code", "")).startswith("4401"):
        return False
    # Both: a resident-facing department (themes alone let in 取水许可, exhibitions, hospital pages) and
    # a resident theme, a 自然人-only item, or a 公证 guide (出生、亲属关系、学历公证 are everyday needs).
    if record.get("department") not in _RESIDENT_DEPARTMENTS:
        return False
    themes = set(record.get("theme_category") or [])
    personal = list(record.get("service_object") or []) == ["自然人"]
    if not (themes & _RESIDENT_THEMES or personal or "公证" in _text(record.get("name"))):
        return False
    return not _NOT_FOR_RESIDENTS.search(_text(record.get("name")))


def _richness(record: Mapping[str, Any]) -> tuple[int, int, int]:
    # Among duplicates keep the one with most guidance, and the one meant for individuals.
    return (
        int(list(record.get("service_object") or []) == ["自然人"]),
        len(record.get("materials") or []),
        len(_text(record.get("conditions"))),
    )


def _item_from_scrape(record: Mapping[str, Any], source: str) -> ServiceItem:
    online = "广东政务服务网" if record.get("online_available") else ""
    location = _text(record.get("location"))
    if online and (not record.get("has_offline_window", True) or not location):
        handled_at, window = "online_only", ""
    elif location:
        handled_at, window = "agency_window", location
    elif online:
        handled_at, window = "online_only", ""
    else:
        handled_at, window = "agency_window", f"{_text(record.get('department'))}办事窗口"
    phrases = tuple(p for p in (_text(record.get("short_name")), _text(record.get("colloquial_name"))) if p)
    return ServiceItem(
        id=_text(record.get("id")),
        name=_text(record.get("name")),
        department=_text(record.get("department")),
        item_type=_text(record.get("item_type")),
        conditions=_text(record.get("conditions")),
        materials=_split_list(record.get("materials")),
        handled_at=handled_at,
        window=window,
        online=online,
        time_limit=_text(record.get("promised_time_limit") or record.get("legal_time_limit")),
        fee=_text(record.get("fee")),  # the scrape has no fee field: unknown, not free
        phrases=phrases,
        source=source,
        catalog_name=_text(record.get("catalog_name")),
        consult_phone=_text(record.get("consult_phone")),
    )


def _item_from_record(record: Mapping[str, Any], default_source: str) -> ServiceItem:
    """A record in our own format (authored JSONL, or a city's CSV/JSON with the same column names)."""
    return ServiceItem(
        id=_text(record.get("id")),
        name=_text(record.get("name")),
        department=_text(record.get("department")),
        item_type=_text(record.get("item_type")),
        conditions=_text(record.get("conditions")),
        materials=_split_list(record.get("materials")),
        handled_at=_text(record.get("handled_at")) or "online_only",
        window=_text(record.get("window")),
        online=_text(record.get("online")),
        time_limit=_text(record.get("time_limit")),
        fee=_text(record.get("fee")),
        phrases=_split_list(record.get("phrases")),
        source=_text(record.get("source")) or default_source,
        catalog_name=_text(record.get("catalog_name")),
        districts=_split_list(record.get("districts")),
        consult_phone=_text(record.get("consult_phone")),
    )


def items_from_records(
    records: Iterable[Mapping[str, Any]], *, source: str, scrape_source: str | None = None,
    relevant_only: bool = True,
) -> list[ServiceItem]:
    """The items of one catalogue file's records. Records shaped like the 广东政务服务网 scrape (with
    ``service_object``) are mapped, filtered to resident items (``relevant_only``) and deduplicated on
    name+department; other records must use ServiceItem's field names (lists as JSON lists or
    '|'-separated strings). ``source`` names the file's own items, ``scrape_source`` its scraped ones."""
    records = list(records)
    scraped = [r for r in records if "service_object" in r]
    own = [r for r in records if "service_object" not in r]
    items = [_item_from_record(r, source) for r in own]
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in scraped:
        if relevant_only and not is_resident_relevant(record):
            continue
        key = (_text(record.get("name")), _text(record.get("department")))
        if key not in best or _richness(record) > _richness(best[key]):
            best[key] = record
    items.extend(_item_from_scrape(r, scrape_source or source) for r in best.values())
    return items


def synonyms_from_rows(rows: Sequence[Mapping[str, str]], source: str = "service_synonyms.csv") -> dict[str, str]:
    if rows and not {"variant", "canonical"} <= set(rows[0]):
        raise CatalogueError(f"{source}: needs columns variant,canonical")
    return {
        r["variant"].strip(): r["canonical"].strip() for r in rows if r.get("variant") and r.get("canonical")
    }


def terms_from_rows(rows: Iterable[Mapping[str, str]]) -> frozenset[str]:
    """The canonical words of the synonym table's ``term`` rows: words that name a service."""
    return frozenset(
        r["canonical"].strip() for r in rows
        if (r.get("kind") or "").strip() == "term" and (r.get("canonical") or "").strip()
    )


def street_names_from_rows(rows: Iterable[Mapping[str, str]]) -> list[str]:
    """The bare names of the 街道 and 镇 in an NBS divisions file's rows ("横岗街道" → 横岗)."""
    names = [r["name"].strip() for r in rows if (r.get("level") or "").strip() == "street"]
    return [re.sub("(街道|镇)$", "", n) for n in names if re.search("(街道|镇)$", n)]


def halls_from_rows(rows: Iterable[Mapping[str, str]]) -> list[Hall]:
    return [
        Hall(
            level=r["level"].strip(),
            district=_text(r.get("district")),
            street=_text(r.get("street")),
            name=r["name"].strip(),
            address=_text(r.get("address")),
            hours=_text(r.get("hours")),
            verify=_text(r.get("verify")).lower() in ("yes", "true", "1"),
        )
        for r in rows
    ]


# ---- search ------------------------------------------------------------------------------------------


# Long questions: the catalogue reads this much (the need is said early; a letter's later paragraphs
# are its story), and clause by clause.
MAX_QUERY_CHARS = 300
_CLAUSE_SPLIT = re.compile(r"[，。！？；、,.!?;\n]+|\s+")
# A window made of fewer clauses than the whole question scores a little lower, so that when the whole
# question fits an item as well, the whole wins.
_CLAUSE_FACTOR = 0.95
# Named places are where the resident lives, not what they need ("龙岗区坂田街道" says nothing about
# 居住证); the district still picks the window (``district``).
_PLACE_NAMES = re.compile(
    "(?:深圳市?)?(?:南山|福田|罗湖|宝安|龙岗|龙华|光明|坪山|盐田|大鹏|深汕)(?:新区|区)?"
    "|[\u4e00-\u9fff]{2,4}(?:街道|社区|小区|花园|新村|大厦)")


# A clause that asks ("想问小一学位怎么申请") says the need; one that only tells ("有居住证", "也交了社保")
# is context, and an item it alone matches ranks below one the asking clause matches.
_TELLING_FACTOR = 0.88
_ASKING = re.compile(
    "怎么|怎样|如何|咋|哪|什么|啥|吗|么|呢|[?？]|能不能|能否|可不可以|可以|要不要|有没有|是否|是不是|多少|多久|几|"
    "(?<![已经])(?:申请|办理?|报名|预约)(?![了好过完妥])|条件|材料|流程|手续|咩|点样|乜|边度|"
    "(?<!问)想(?!问|咨询|了解)")
# An opener ("请问，我有居住证，孩子能在深圳读小学吗") asks only when no clause asks in its own words.
_OPENER = re.compile("请问|想问|问一下|问下|咨询|想了解|了解一下|打听")
# A clause that says something is already done or had ("合同已经备案了", "结婚证领到了", "我有居住证") is
# the resident's situation, not the need: it weighs less than other telling clauses, its words weigh
# _DONE_WEIGHT wherever the question is read whole, and an item's phrase said only there earns no bonus.
_DONE = re.compile(
    "已经?(?:办|交|缴|签|登记|备案|申请|拿到|领到|领了|有)|(?:办|拿|领|签|弄|搞|交|缴)(?:好|完|到)?了|办过了|"
    "我(?:有|持有)(?!没有)|持有")
_DONE_FACTOR = 0.75
_DONE_WEIGHT = 0.4


def _done_clauses(query: str, clauses: list[tuple[int, int]], asking: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The clauses of a multi-clause question that only say what is already done (``clauses`` and
    ``asking`` as _clauses and _asking_clauses give them)."""
    if len(clauses) < 2:
        return []
    return [(a, b) for a, b in clauses if (a, b) not in asking and _DONE.search(query, a, b)]


def _asking_clauses(query: str, clauses: list[tuple[int, int]]) -> set[tuple[int, int]]:
    asking = {(a, b) for a, b in clauses if _ASKING.search(query, a, b + 1)}
    if not asking:
        asking = {(a, b) for a, b in clauses if _OPENER.search(query, a, b + 1)}
    return asking


def _clauses(query: str) -> list[tuple[int, int]]:
    clauses: list[tuple[int, int]] = []
    pos = 0
    for m in _CLAUSE_SPLIT.finditer(query):
        if m.start() > pos:
            clauses.append((pos, m.start()))
        pos = m.end()
    if pos < len(query):
        clauses.append((pos, len(query)))
    return clauses


def _windows(query: str, clauses: list[tuple[int, int]], asking: set[tuple[int, int]]) -> list[tuple[int, int, float]]:
    """(start, end, factor): the whole question, each clause, and each pair of neighbouring clauses."""
    out = [(0, len(query), 1.0)]
    if len(clauses) > 1:

        def factor(a: int, b: int) -> float:
            if any(a <= a2 and b2 <= b for a2, b2 in asking):
                return _CLAUSE_FACTOR
            return _CLAUSE_FACTOR * (_DONE_FACTOR if _DONE.search(query, a, b) else _TELLING_FACTOR)

        out += [(a, b, factor(a, b)) for a, b in clauses if b - a >= 2]
        out += [(a[0], b[1], factor(a[0], b[1])) for a, b in zip(clauses, clauses[1:], strict=False)]
    return list(dict.fromkeys(out))


# What the resident is doing with a service: a first application, a renewal, a replacement, a change, an
# end. An item for another action of the same service ranks below one for this action.
_ACTIONS = (
    ("replace", re.compile(
        "补办|补领|补发|补证|补卡|挂失|遗失|丢失|丢了|掉了|不见了|弄丢|损坏|坏了|丢|被偷|偷了|被抢|没了|找不到|不见|烂了|"
        "破了|咬坏|洗坏|重新办")),
    ("renew", re.compile(
        "签注|续期|续签|续办|(?<!继)续|延期|到期|过期|换领|换证|换卡|换新|换个新|换一个新|年审|年检|有效期满|满[0-9一二三四五六七八九十]+年|"
        "旧了|用完")),
    ("change", re.compile("变更|更改|改名|迁移|转移|迁出|迁入|转入|转出|更正")),
    ("cancel", re.compile("注销|销户|退卡|退出|终止|停保")),
)
_ACTION_FIT = {
    ("apply", "renew"): 0.9, ("apply", "replace"): 0.9, ("apply", "change"): 0.93, ("apply", "cancel"): 0.9,
    ("renew", "apply"): 0.93, ("replace", "apply"): 0.93, ("change", "apply"): 0.95, ("cancel", "apply"): 0.93,
    ("renew", "replace"): 0.9, ("replace", "renew"): 0.9,
}


_ALL_CJK = re.compile("[\u4e00-\u9fff]+")


@lru_cache(maxsize=65536)
def _sound_key(word: str) -> tuple[str, ...]:
    """The word's toneless pinyin: what a pinyin keyboard typed, whichever characters it picked."""
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(word, style=Style.NORMAL))


_LOOSE_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"), ("r", "y"))


@lru_cache(maxsize=65536)
def _loose_syllable(syllable: str) -> str:
    """A syllable as a southern speaker or a recogniser may blur it: zh/z, ch/c, sh/s, l/n, f/h, r/y,
    and -ang/-an, -eng/-en, -ing/-in ("护造" for 护照, "身粉证" for 身份证, "结昏证" for 结婚证)."""
    for hard, soft in _LOOSE_INITIALS:
        if syllable.startswith(hard):
            syllable = soft + syllable[len(hard):]
            break
    if syllable.endswith(("ang", "eng", "ing")):
        syllable = syllable[:-1]
    return syllable


def _loose_key(key: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_loose_syllable(s) for s in key)


def _sound_index(
    terms: Iterable[str], canonical: Callable[[str], str] | None = None
) -> dict[tuple[str, ...], str]:
    """reading → catalogue word, under the exact toneless reading ("=", ...) and the loose one ("~", ...);
    a reading two words share is dropped (ambiguous), unless both words mean the same (``canonical``
    maps a word to the catalogue's form: 身份正 and 身份证 are one word)."""
    try:
        import pypinyin  # noqa: F401
    except ImportError:  # the phonetic fix is an extra: without pypinyin the catalogue still searches
        return {}
    same = canonical or (lambda word: word)
    out: dict[tuple[str, ...], str] = {}
    clash: set[tuple[str, ...]] = set()
    for term in terms:
        if not _ALL_CJK.fullmatch(term):
            continue
        exact = _sound_key(term)
        for key in (("=", *exact), ("~", *_loose_key(exact))):
            if key in out and same(out[key]) != same(term):
                clash.add(key)
            # Prefer the catalogue's own form when a variant reads the same.
            if key not in out or same(term) == term:
                out[key] = term
    for key in clash:
        del out[key]
    return out


def _action_of(text: str, *, item: bool = False) -> str:
    for name, pattern in _ACTIONS:
        if pattern.search(text):
            return name
    return "apply"


@dataclass
class _Index:
    postings: dict[str, dict[int, float]] = field(default_factory=dict)
    lengths: list[float] = field(default_factory=list)
    avg_length: float = 1.0


class Catalogue:
    """Searchable service items, the halls where they are handled, and how to tell a resident where to go."""

    def __init__(
        self,
        items: Sequence[ServiceItem],
        *,
        synonyms: Mapping[str, str] | None = None,
        halls: Sequence[Hall] = (),
        templates: Mapping[str, str] | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        terms: Iterable[str] = (),
        places: Iterable[str] = (),
    ) -> None:
        """``terms``: words that name a service (see _TERM_EVIDENCE); ``places``: bare place names (街道)
        a question may mention, which are not part of the need."""
        self._items: list[ServiceItem] = []
        self._by_id: dict[str, ServiceItem] = {}
        seen_names: set[tuple[str, str]] = set()
        # Authored first so that, on an exact name+department clash, the authored item is the one kept.
        for item in sorted(items, key=lambda it: not it.authored):
            if item.id in self._by_id:
                raise CatalogueError(f"duplicate service item id {item.id!r}")
            key = (item.name, item.department)
            if key in seen_names:
                continue
            seen_names.add(key)
            self._items.append(item)
            self._by_id[item.id] = item
        self.min_score = min_score
        self._normalise = TextNormaliser(synonyms or {})
        self._terms = frozenset(self._normalise(t) for t in terms if t.strip())
        self._tokenizer = _private_tokenizer()
        words = self._normalise.terms | {self._normalise(i.name) for i in self._items if len(i.name) <= 8}
        for word in words:
            if len(word) >= 2:
                self._tokenizer.add_word(word, freq=2000)
        # Short phrases stay whole too ("扣满12分", "积分入学"), without the scaffolding around their core:
        # "交罚款" kept whole would hide the 交 (缴费) a question about paying a fine says.
        phrases = {self._normalise(p) for i in self._items if i.authored for p in i.phrases if len(p) <= 6}
        self._compounds: set[str] = set()
        for phrase in sorted(phrases - words):
            core = self._phrase_core(phrase)
            if len(core) >= 2:
                self._tokenizer.add_word(core, freq=2000)
                if not jieba.dt.FREQ.get(core):  # not a word of the language: a phrase kept whole
                    self._compounds.add(core)
        self._halls_by_district = {h.district: h for h in halls if h.level == "district"}
        self._halls_by_street = {h.street: h for h in halls if h.level == "street"}
        self._templates = dict(templates or {})
        self._index = self._build_index()
        # A place name that is also a catalogue word is kept: it may be the need.
        place_names = sorted(
            {p for p in (self._normalise(x.strip()) for x in places) if len(p) >= 2 and p not in self._index.postings},
            key=len, reverse=True)
        self._places = re.compile("|".join(map(re.escape, place_names))) if place_names else None
        self._actions: dict[int, str] = {}
        self._phrases: dict[int, tuple[str, ...]] = {}
        self._core_names: dict[int, tuple[str, ...]] = {}
        self._sounds: dict[tuple[str, ...], str] | None = self._sound_words()
        n = len(self._items)
        self._idf = {
            t: math.log(1.0 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self._index.postings.items()
        }
        self._unknown_idf = math.log(1.0 + (n + 0.5) / 0.5)

    # -- lookups

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ServiceItem]:
        return iter(self._items)

    def get(self, item_id: str) -> ServiceItem | None:
        return self._by_id.get(item_id)

    def counts_by_source(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for item in self._items:
            counts[item.source] += 1
        return dict(counts)

    # -- search

    def _spans(self, text: str, *, indexing: bool = False, prepared: bool = False) -> list[tuple[str, int, int]]:
        spans: list[tuple[str, int, int]] = []
        if not prepared:
            text = self._normalise(text)
            if not indexing:
                text = self._sound_fix(text)
        for m in _CJK_OR_WORD.finditer(text):
            pieces = list(self._tokenizer.tokenize(m.group(0), mode="search", HMM=False))
            for word, start, end in pieces + self._inner_chars(pieces, self._compounds):
                if word in _STOPWORDS or (len(word) == 1 and word in _SKIP_CHARS):
                    continue
                if (indexing and len(word) == 1 and word not in _SINGLE_CHARS and word not in _WORD_ALIASES
                        and not word.isascii()):
                    continue
                spans.append((_WORD_ALIASES.get(word, word), m.start() + start, m.start() + end))
        return spans

    @staticmethod
    def _inner_chars(
        pieces: list[tuple[str, int, int]], compounds: Iterable[str]
    ) -> list[tuple[str, int, int]]:
        """Informative single characters inside a phrase the tokenizer keeps whole (``compounds``): search
        mode gives the words inside "旧沙发扔哪里" (沙发, 哪里) but not 扔, and "社保卡锁了" would lose its 锁."""
        out: list[tuple[str, int, int]] = []
        for word, start, end in pieces:
            if end - start < 3 or word not in compounds:
                continue
            covered = {
                i for w, s, e in pieces if e - s >= 2 and start <= s and e <= end and (s, e) != (start, end)
                for i in range(s, e)
            }
            out += [
                (c, start + i, start + i + 1) for i, c in enumerate(word)
                if start + i not in covered and (c in _SINGLE_CHARS or c in _WORD_ALIASES)
            ]
        return list(dict.fromkeys(out))

    def _phrase_core(self, phrase: str) -> str:
        """``phrase`` without a bare verb that stands for a catalogue word at its ends, as the tokenizer
        cuts it before the phrase is a word of its own ("交罚款" → 罚款, "查公积金" → 公积金)."""
        toks = self._tokenizer.lcut(phrase, HMM=False)
        while toks and toks[0] in _WORD_ALIASES:
            toks.pop(0)
        while toks and toks[-1] in _WORD_ALIASES:
            toks.pop()
        return "".join(toks)

    def _sound_words(self) -> dict[tuple[str, ...], str]:
        # Catalogue words, and the table's longer variants ("残疾正" reads as 残疾证, i.e. 残疾人证).
        words = [t for t in self._index.postings if 2 <= len(t) <= 4]
        words += sorted(v for v in self._normalise.variants if 3 <= len(v) <= 4)
        return _sound_index(words, self._normalise)

    def _sound_fix(self, text: str) -> str:
        """Catalogue words typed with the wrong characters for the right pinyin ("居住正" → 居住证,
        "户口签出" → 迁出, "驾使证" → 驾驶证), or for a pinyin a southern accent or a recogniser blurs
        ("护造" → 护照, "结昏证" → 结婚证): a run of 2–4 characters that is neither a catalogue word nor a
        word of the language, reads like a catalogue word (or a variant the synonym table knows), and shares
        at least half its characters with it, is read as that word. A function character that differs is
        taken as said ("户口不在本地" is not 户口簿)."""
        if self._sounds is None:
            self._sounds = self._sound_words()
        if not self._sounds:
            return text
        chars = list(text)
        fixed = False
        for m in _ALL_CJK.finditer(text):
            run = m.group(0)
            # Only whole words of the run's usual segmentation are candidates: a window that starts or
            # ends inside a word ("通行证" → "行证") is not something anyone typed.
            bounds = {0, len(run)} | {e for _, _, e in self._tokenizer.tokenize(run, HMM=False)}
            i = 0
            while i < len(run) - 1:
                step = 1
                if i in bounds:
                    for n in (4, 3, 2):
                        window = run[i:i + n]
                        if (len(window) < n or (i + n) not in bounds or window in self._index.postings
                                or window in self._tokenizer.FREQ):
                            continue  # a catalogue word, or a real word of its own ("回锅", "一半")
                        key = _sound_key(window)
                        term = self._sounds.get(("=", *key)) or self._sounds.get(("~", *_loose_key(key)))
                        if term and any(a != b and a in _SKIP_CHARS for a, b in zip(window, term, strict=True)):
                            continue
                        if term and sum(a == b for a, b in zip(window, term, strict=True)) * 2 >= n:
                            chars[m.start() + i:m.start() + i + n] = list(term)
                            fixed = True
                            step = n
                            break
                i += step
        # A variant put back is then written the catalogue's way.
        return self._normalise("".join(chars)) if fixed else text

    def tokens(self, text: str) -> list[str]:
        """The informative words of ``text`` after normalisation (exposed for tests and the bench)."""
        return [word for word, _, _ in self._spans(text)]

    def _query_groups(self, query: str, *, prepared: bool = False) -> list[tuple[float, tuple[str, ...], float, float]]:
        """(weight, candidate index terms, credit for a match, weight as evidence) per informative piece
        of the question.

        Words the catalogue knows count with their IDF. A word it does not know counts once, as its longest
        form, and only where no known word covers the same characters ("本科学历" is 本科 + 学历, not also
        an unknown word); it may still match on its single characters ("锁住" ~ 锁) for partial credit.
        Unknown words weigh less than the rarest known word: they are mostly the resident's own framing
        ("八十多岁", "不小心") — but they do weigh, so a question about something else entirely scores low.
        """
        return self._groups(self._spans(query, prepared=prepared))

    def _groups(
        self, spans: list[tuple[str, int, int]], context: frozenset[int] = frozenset()
    ) -> list[tuple[float, tuple[str, ...], float, float]]:
        """See _query_groups. A word said only at ``context`` positions (clauses that tell what is already
        done) weighs _DONE_WEIGHT of itself, in coverage and as evidence."""
        postings = self._index.postings
        asked = {w for w, s, e in spans if not context.issuperset(range(s, e))}
        known = [(w, s, e) for w, s, e in spans if w in postings]
        covered = {i for _, s, e in known for i in range(s, e)}
        unknown = [
            (w, s, e)
            for w, s, e in spans
            if w not in postings
            and not _NUMBER.fullmatch(w)
            and not covered.intersection(range(s, e))
            and not any(
                s2 <= s and e <= e2 and (s2, e2) != (s, e) for _, s2, e2 in spans if _ not in postings
            )
        ]
        groups: list[tuple[float, tuple[str, ...], float, float]] = []
        seen: set[str] = set()
        for word, s, e in known:
            if word in seen:
                continue
            seen.add(word)
            # A single character says less than a word, also when it stands for one (交 → 缴费).
            weight = self._idf[word] * (_SINGLE_CHAR_WEIGHT if e - s == 1 else 1.0)
            says = weight
            if word in self._terms:
                says = max(weight, _TERM_EVIDENCE)
            elif word in _PEOPLE:
                says = weight * _PEOPLE_EVIDENCE
            if any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for _, s2, e2 in known):
                weight *= _SUBWORD_WEIGHT
            if word not in asked:
                weight, says = weight * _DONE_WEIGHT, says * _DONE_WEIGHT
            groups.append((weight, (word,), 1.0, says))
        for word, _, _ in unknown:
            if word in seen:
                continue
            seen.add(word)
            chars = (
                tuple(dict.fromkeys(c for c in word if c in postings and c not in _SKIP_CHARS))
                if len(word) > 1
                else ()
            )
            weight = self._unknown_idf * _UNKNOWN_WEIGHT * (_SINGLE_CHAR_WEIGHT if len(word) == 1 else 1.0)
            if word not in asked:
                weight *= _DONE_WEIGHT
            groups.append((weight, chars, _CHAR_CREDIT, weight))
        return groups

    def _build_index(self) -> _Index:
        index = _Index()
        cache: dict[str, set[str]] = {}  # departments and catalogue names repeat across items
        for doc, item in enumerate(self._items):
            fields = {
                "name": [item.name],
                "phrases": list(item.phrases),
                "catalog": [item.catalog_name]
                if item.catalog_name and item.catalog_name != item.name
                else [],
                "department": [item.department],
            }
            weighted: dict[str, float] = defaultdict(float)
            length = 0.0
            for fname, texts in fields.items():
                w = _FIELD_WEIGHTS[fname]
                for text in texts:
                    # Within one field a word counts once per text: phrases repeat the topic word by design.
                    toks = cache.get(text)
                    if toks is None:
                        toks = cache[text] = {w for w, _, _ in self._spans(text, indexing=True)}
                    length += w * len(toks)
                    for tok in toks:
                        weighted[tok] += w
            for tok, tf in weighted.items():
                index.postings.setdefault(tok, {})[doc] = tf
            index.lengths.append(length)
        if index.lengths:
            index.avg_length = sum(index.lengths) / len(index.lengths) or 1.0
        return index

    def search(self, query: str, k: int = 3, district: str | None = None) -> list[Hit]:
        """The ``k`` best items for what the resident said, best first; empty when nothing is relevant.

        ``district`` drops items a city marked as valid only in other districts. A long question is also
        read clause by clause ("我住在龙岗区坂田街道，想办居住证，要去哪里办？": the need is one clause,
        the rest is context), place names are not part of the need, and among equally good items the one
        for what the resident is doing comes first (a first application, a renewal, a replacement...).
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}")
        if k < 1:
            raise ValueError("k must be at least 1")
        query = query[:MAX_QUERY_CHARS]
        # Normalise and fix homophones once; every window reads the prepared text.
        prepared = self._normalise(_PLACE_NAMES.sub(" ", query))
        if self._places is not None:
            prepared = self._places.sub(" ", prepared)
        prepared = self._sound_fix(prepared)
        spans = self._spans(prepared, prepared=True)  # segmented once; each window takes its own words
        # The clauses, and which of them ask, are read once for both uses below.
        clauses = _clauses(prepared)
        asking = _asking_clauses(prepared, clauses) if len(clauses) > 1 else set()
        done = _done_clauses(prepared, clauses, asking)
        context = frozenset(i for a, b in done for i in range(a, b))
        if not any(w in self._index.postings and not context.issuperset(range(s, e)) for w, s, e in spans):
            context = frozenset()  # the need is only said there ("身份证办好了，怎么领")
        scored: dict[int, tuple[float, float]] = {}
        whole: dict[int, float] = {}
        for start, end, factor in _windows(prepared, clauses, asking):
            inside = [sp for sp in spans if sp[1] >= start and sp[2] <= end]
            for doc, (score, depth) in self._score_groups(self._groups(inside, context)).items():
                score *= factor
                if start == 0 and end == len(prepared):
                    whole[doc] = score
                if score > scored.get(doc, (0.0, 0.0))[0]:
                    scored[doc] = (score, depth)
        if not scored:
            return []
        asked = prepared
        for a, b in done:
            asked = asked[:a] + " " * (b - a) + asked[b:]
        if _WHOLE_SHARE:
            # The best clause says the need; the rest of the question still tells items of that need apart
            # ("辞职回老家了，公积金能一次性取出来吗": the leaving item among the withdrawal items).
            scored = {
                doc: ((1.0 - _WHOLE_SHARE) * score + _WHOLE_SHARE * whole.get(doc, 0.0), depth)
                for doc, (score, depth) in scored.items()
            }
        action = _action_of(self._normalise(query))
        procedure = bool(_PROCEDURE.search(asked))
        district_name = _district_name(district) if district else None
        hits: list[tuple[Hit, float, int]] = []
        for doc, (raw_score, depth) in scored.items():
            item = self._items[doc]
            if (
                district_name
                and item.districts
                and district_name not in {_district_name(d) for d in item.districts}
            ):
                continue
            fit = _ACTION_FIT.get((action, self._item_action(doc)), 1.0)
            if _PHRASE_BONUS and (any(p in asked for p in self._said(doc)) or (
                    procedure and any(c in asked for c in self._cores(doc)))):
                # The question says the item's own name or one of its phrases word for word.
                raw_score += (1.0 - raw_score) * _PHRASE_BONUS
            score = raw_score * fit * (1.0 if item.authored else IMPORTED_PRIOR)
            if score >= self.min_score:
                hits.append((Hit(item, round(min(1.0, score), 4)), depth, doc))
        hits.sort(key=lambda h: (-h[0].score, -h[1], not h[0].item.authored, len(h[0].item.name)))
        return [hit for hit, _, _ in hits[:k]]

    def _score_groups(self, groups: list[tuple[float, tuple[str, ...], float, float]]) -> dict[int, tuple[float, float]]:
        """doc → (share of the window's informative weight the item matches, uncapped match depth)."""
        if not groups:
            return {}
        total = sum(weight for weight, _, _, _ in groups)
        ref = _REF_TF / (_REF_TF + _K1)
        lengths, avg = self._index.lengths, self._index.avg_length
        scores: dict[int, float] = defaultdict(float)
        evidence: dict[int, float] = defaultdict(float)
        # Uncapped match strength: breaks ties towards the item that says it most.
        depth: dict[int, float] = defaultdict(float)
        for weight, candidates, credit, says in groups:
            best: dict[int, float] = {}
            for term in candidates:
                for doc, tf in self._index.postings[term].items():
                    sat = tf / (tf + _K1 * (1.0 - _B + _B * lengths[doc] / avg))
                    m = sat / ref * credit
                    if m > best.get(doc, 0.0):
                        best[doc] = m
            for doc, m in best.items():
                scores[doc] += weight * min(1.0, m)
                evidence[doc] += says * min(1.0, m)
                depth[doc] += weight * m
        return {
            doc: ((raw / total) ** _GAMMA * min(1.0, evidence[doc] / _EVIDENCE_REF), depth[doc])
            for doc, raw in scores.items()
        }

    def _said(self, doc: int) -> tuple[str, ...]:
        """The item's name and authored phrases as the normaliser writes them, those long enough to be
        specific (3+ characters)."""
        cached = self._phrases.get(doc)
        if cached is None:
            item = self._items[doc]
            texts = (item.name, *item.phrases) if item.authored else (item.name,)
            cached = self._phrases[doc] = tuple(
                t for t in dict.fromkeys(self._normalise(x) for x in texts) if len(t) >= _PHRASE_MIN_CHARS
            )
        return cached

    def _cores(self, doc: int) -> tuple[str, ...]:
        """The item's name without what every item's name says ("离婚登记" → 离婚): a question about the
        procedure that names the thing itself ("想离婚，要去边度办手续") names the item (services_dev3). Not a
        name with a part in brackets ("出生登记（新生儿入户）": the bracket says what it is, 出生 does not), nor
        an imported item (the province's names are many and loose: "低保申请条件" is the city's 低保 item first)."""
        cached = self._core_names.get(doc)
        if cached is None:
            name = self._normalise(self._items[doc].name)
            core = _GENERIC_TAIL.sub("", name)
            keep = self._items[doc].authored and len(core) >= 2 and core != name and not _BRACKETED.search(name)
            cached = self._core_names[doc] = (core,) if keep else ()
        return cached

    def _item_action(self, doc: int) -> str:
        cached = self._actions.get(doc)
        if cached is None:
            item = self._items[doc]
            cached = self._actions[doc] = _action_of(self._normalise(item.name), item=True)
        return cached

    # -- where to apply

    def hall_for(self, district: str | None, street: str | None = None) -> Hall | None:
        if street and street in self._halls_by_street:
            return self._halls_by_street[street]
        if district:
            return self._halls_by_district.get(_district_name(district))
        return None

    def _t(self, key: str, **values: str) -> str:
        try:
            return self._templates[key].format(**values)
        except KeyError as exc:
            raise CatalogueError(f"where_to_apply template {key!r} missing or needs {exc}") from exc

    def where_to_apply(
        self, item: ServiceItem | str, district: str | None = None, street: str | None = None
    ) -> str:
        """One sentence telling this resident where to go: their own district or street hall when the item is
        handled there, the agency's window, or the online channel."""
        if isinstance(item, str):
            found = self.get(item)
            if found is None:
                raise KeyError(f"unknown service item {item!r}")
            item = found
        online_part = self._t("online_part", online=item.online) if item.online else ""
        if not item.authored and item.handled_at in ("online_only", "agency_window") and not item.districts:
            return self._where_provincial(item)
        if item.handled_at == "online_only":
            if item.online:
                return self._t("online_only", online=item.online)
            if item.window:
                return self._t("agency_window", window=item.window, address_part="", online_part="")
            return self._t("online_only_no_channel", department=item.department)
        if item.handled_at == "agency_window":
            return self._t(
                "agency_window", window=item.window, address_part="", online_part=online_part
            ).strip()
        district_name = _district_name(district) if district else ""
        if item.handled_at == "district_hall":
            hall = self._halls_by_district.get(district_name) if district_name else None
            if hall:
                return self._with_hall("district_hall_known", hall, online_part)
            return self._t("district_hall_unknown", online_part=online_part).strip()
        if item.handled_at == "street_hall":
            if street and street in self._halls_by_street:
                return self._with_hall("street_hall_known", self._halls_by_street[street], online_part)
            if street:
                return self._t(
                    "street_hall_known",
                    hall=f"{street}党群服务中心（街道行政服务大厅）",
                    address_part="",
                    online_part=online_part,
                ).strip()
            if district_name:
                return self._t(
                    "street_hall_district", district=district_name, online_part=online_part
                ).strip()
            return self._t("street_hall_unknown", online_part=online_part).strip()
        # community
        if street:
            return self._t("community_street", street=street, online_part=online_part).strip()
        return self._t("community_unknown", online_part=online_part).strip()

    def _with_hall(self, key: str, hall: Hall, online_part: str) -> str:
        address_part = self._t("address_part", address=hall.address) if hall.address else ""
        return self._t(key, hall=hall.name, address_part=address_part, online_part=online_part).strip()

    def _where_provincial(self, item: ServiceItem) -> str:
        if item.online:
            tail = self._t("provincial_online", online=item.online)
        elif item.consult_phone:
            tail = self._t("provincial_window_only", window=item.window, phone=item.consult_phone)
        else:
            tail = self._t("provincial_window_no_phone", window=item.window)
        return self._t("provincial_window", department=item.department, online_or_window=tail)


def _private_tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer of our own (we add catalogue words; other modules keep theirs) that shares the
    default dictionary already in memory instead of loading the 300k-word file a second time."""
    jieba.dt.check_initialized()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(jieba.dt.FREQ)
    tokenizer.total = jieba.dt.total
    tokenizer.initialized = True
    return tokenizer


def _district_name(name: str) -> str:
    """'南山' and '南山区' name the same district; 大鹏/深汕 are named as residents say them."""
    name = name.strip()
    if name in ("大鹏", "大鹏新区"):
        return "大鹏新区"
    if name in ("深汕", "深汕合作区", "深汕特别合作区"):
        return "深汕特别合作区"
    return name if name.endswith("区") or not name else name + "区"
