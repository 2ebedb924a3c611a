"""Detects emergencies in a resident's message, before any classifier is asked.

An emergency is danger to life or property *now*: fire, smoke, a gas smell, someone unconscious or
not breathing, violence in progress, drowning, people trapped in a lift and in distress. The
resident must be told at once whom to call (119 fire / 120 ambulance / 110 police) and the message
is never ticketed as ordinary work. Suicide and self-harm words are a crisis (`is_crisis`): the
reply gives crisis support, and 110 because police answer people in immediate danger of suicide.

Errs on the side of safety: a single trigger word is enough. Only a few contexts take a trigger
back: a negation right before it ("没有着火"), cooking fumes ("油烟"), and complaints about a past
call-out ("120上周来得太慢了", "上次着火消防来晚了，我要投诉"). Mentioning a service ("消防安全检查")
or a chronic fault ("电梯坏了好几天了") triggers nothing because no trigger word matches.

Pure: standard library plus router.domain.normalise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from router.domain.normalise import normalise

__all__ = ["Emergency", "EmergencyNumber", "detect"]

EmergencyNumber = Literal["110", "119", "120"]


@dataclass(frozen=True)
class Emergency:
    """What the detector found: whom to call, what kind, and the words that decided it."""

    number: EmergencyNumber
    kind: str  # fire | gas | smoke | explosion | trapped | medical | violence | drowning | missing | self_harm | call
    is_crisis: bool
    matched: tuple[str, ...]

    @property
    def service(self) -> str:
        """The emergency_type entity value the bot uses: fire | medical | police."""
        return {"119": "fire", "120": "medical", "110": "police"}[self.number]


# (kind, number, pattern). Order matters only for which kind is reported first when several match;
# the most life-threatening kinds come first.
_RULES: list[tuple[str, EmergencyNumber, re.Pattern[str]]] = [
    ("self_harm", "110", re.compile(
        "自杀|自尽|轻生|寻死|不想活|活不下去|活着没意思|活着太累|想死|要去死|去死了|死了算了|死了就解脱|"
        "一了百了|结束(?:自己的)?生命|割腕|上吊|烧炭|跳楼自杀|想跳楼|准备跳楼|要跳楼|从楼上跳下去|"
        "吃了(?:很多|一瓶|好多)?安眠药|吞(?:了)?安眠药|伤害自己|自残|写好遗书|遗书|永别了")),
    ("fire", "119", re.compile(
        "着火|著火|起火|失火|火灾|大火|烧起来|火势|火燭|火烛|燃起来|火光冲天|着大火")),
    ("smoke", "119", re.compile("冒烟|冒黑烟|浓烟|黑烟滚滚|烟雾很大|烟很大|好多烟|全是烟")),
    ("gas", "119", re.compile(
        "(?:煤气|燃气|天然气|液化气)(?:味|泄漏|泄露|漏了|漏气|罐爆)|(?:漏|泄)(?:煤气|燃气|天然气)|"
        "闻到(?:一股)?(?:很大的|很浓的)?(?:煤气|燃气|天然气)")),
    ("explosion", "119", re.compile("爆炸|炸开了|罐爆了")),
    ("trapped", "119", re.compile(
        "困在电梯|被困电梯|电梯(?:里)?困(?:了)?人|电梯里(?:有人)?被困|困电梯|关在电梯|电梯里出不来|"
        "被关在里面|被困在(?:里面|楼里|房间|屋里)|被困住了")),
    ("medical", "120", re.compile(
        "晕倒|暈倒|昏倒|昏迷|不省人事|没有?呼吸|不呼吸|没了呼吸|没有?心跳|心脏病(?:发|犯)|心梗|中风|脑溢血|"
        "抽搐|口吐白沫|喘不(?:上|过)气|呼吸困难|大出血|流了(?:好多|很多|一地)血|血流不止|头破血流|"
        "叫不醒|没有?意识|没反应了|(?:人|他|她|老人|老伴|爸|妈|孩子|小孩|爷爷|奶奶)倒在地上|摔倒了?起不来|触电|噎住|卡住(?:了)?喉咙|吞了.{0,6}卡住|"
        "救护车|从高处摔下|出车祸|车祸|被车撞|中毒|割伤.{0,4}很深")),
    ("violence", "110", re.compile(
        "打人|打架|斗殴|被打(?!扰|折|开|印|包|卡|针|疫苗|电话)|在打我|打我(?!电话|手机|的电话|的手机|号|座机)|砍人|持刀|拿刀|动刀|捅人|被捅|拿枪|开枪|抢劫|抢钱|抢包|"
        "家暴|绑架|劫持|强奸|性侵|非礼|入室|撬门|撬锁|闯进|小偷正在|有贼|杀人|要杀|被人跟踪|有人跟踪|威胁要杀|"
        "要跳河|要跳楼|站在楼顶|爬上楼顶")),
    ("drowning", "110", re.compile("溺水|落水|掉(?:进)?(?:河|水|海|湖|塘)里|掉水里|被水冲走|淹死|沉下去")),
    ("missing", "110", re.compile(
        "(?:孩子|小孩|老人|儿子|女儿|孙子|孙女|老伴|父亲|母亲|爸|妈|爷爷|奶奶)(?:又|已经|突然)?"
        "(?:走丢|找不到了|不见了|失踪)")),
    ("call", "110", re.compile("救命|快报警|帮我报警|我要报警|快来人|紧急情况|出事了")),
    ("call", "119", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?119")),
    ("call", "120", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?120")),
    ("call", "110", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?110")),
]

# A negation right before the trigger takes it back ("没有着火", "不是煤气味", "没冒烟"), unless the
# trigger is itself a negation ("没有呼吸").
_NEGATION = re.compile("(?:没有|没|并没有|不是|并非|未|无)$")
# Cooking fumes are a nuisance complaint, not a fire.
_NOT_SMOKE_BEFORE = re.compile("(?:油|炊|香|抽|吸)$")
# A complaint about an earlier call-out: a past marker together with a complaint word, and nothing
# that says it is happening now.
_PAST = re.compile("上周|上星期|上个月|上次|上回|去年|前年|之前|以前|那次|当时|前几天|前段时间|年前")
_COMPLAINT = re.compile("投诉|太慢|来得慢|来晚|迟到|态度|不满意|差评|说法|反映|赔偿|收费|乱收")
_NOW = re.compile("现在|正在|马上|快来|赶紧|救命|还在|刚刚|刚才|此刻|快点")
# Chronic faults described as a pattern ("电梯老是困人") are tickets, not emergencies.
_CHRONIC = re.compile("经常|老是|总是|常常|每次|动不动|三天两头|隔三差五")


def _is_negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[max(0, start - 3):start]))


def detect(text: str) -> Emergency | None:
    """The emergency in `text`, or None. `text` may be raw: it is normalised here.

    >>> detect("楼下着火了").number
    '119'
    >>> detect("120上周来得太慢了") is None
    True
    """
    if not isinstance(text, str):
        raise TypeError(f"detect() needs a str, got {type(text).__name__}")
    clean = normalise(text)
    if not clean:
        return None
    hits: list[tuple[str, EmergencyNumber, str]] = []
    for kind, number, pattern in _RULES:
        for match in pattern.finditer(clean):
            word = match.group(0)
            if kind != "medical" and kind != "self_harm" and _is_negated(clean, match.start()):
                continue
            if kind == "smoke" and _NOT_SMOKE_BEFORE.search(clean[max(0, match.start() - 1):match.start()]):
                continue
            hits.append((kind, number, word))
    if not hits:
        return None
    crisis = [h for h in hits if h[0] == "self_harm"]
    if crisis:
        # A crisis is never explained away as a past complaint.
        return Emergency(number="110", kind="self_harm", is_crisis=True, matched=tuple(h[2] for h in crisis))
    about_the_past = bool(_PAST.search(clean)) and bool(_COMPLAINT.search(clean)) and not _NOW.search(clean)
    if about_the_past:
        return None
    # Only a mention of an ambulance or a number, in a complaint: "救护车收费太贵了，我要投诉".
    weak = all(h[0] == "call" or h[2] == "救护车" for h in hits)
    if weak and _COMPLAINT.search(clean) and not _NOW.search(clean):
        return None
    if all(h[0] == "trapped" for h in hits) and _CHRONIC.search(clean) and not _NOW.search(clean):
        return None
    # A bare call for help ("救命") says little about which service; a specific kind beats it.
    specific = [h for h in hits if h[0] != "call"] or hits
    kind, number, _ = specific[0]
    matched = tuple(dict.fromkeys(h[2] for h in hits))
    return Emergency(number=number, kind=kind, is_crisis=False, matched=matched)
