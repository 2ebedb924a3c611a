"""Detects emergencies in a resident's message, before any classifier is asked.

An emergency is danger to life or property *now*: fire, smoke, a gas smell, someone unconscious or
not breathing, violence in progress, drowning, people trapped in a lift and in distress. The
resident must be told at once whom to call (119 fire / 120 ambulance / 110 police) and the message
is never ticketed as ordinary work. Suicide and self-harm words are a crisis (`is_crisis`): the
reply gives crisis support, and 110 because police answer people in immediate danger of suicide —
or 120 when the harm is already done (pills taken, wrists cut, bleeding).

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

__all__ = ["Emergency", "EmergencyNumber", "crisis_number", "detect"]

EmergencyNumber = Literal["110", "119", "120"]


@dataclass(frozen=True)
class Emergency:
    """What the detector found: whom to call, what kind, and the words that decided it."""

    number: EmergencyNumber
    kind: str  # fire|gas|smoke|explosion|trapped|collapse|medical|violence|drowning|missing|self_harm|call
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
        "自杀|自尽|轻生|寻死|不想(?:再)?活|想去死|(?:想|要|准备)跳下去|活不下去|不活了|活着没意思|活着太累|想死|要去死|去死了|死了算了|"
        "死了就解脱|一了百了|结束(?:自己的)?生命|割腕|割(?:了)?手腕|上吊|烧炭|跳楼自杀|想跳楼|准备跳楼|要跳楼|"
        "从楼上跳下去|(?:吃|吞|服)(?:了)?[^，。,.!?！？]{0,6}安眠药|喝(?:了)?[^，。,.!?！？]{0,4}(?:农药|百草枯|敌敌畏)|"
        "(?:吃|吞|服)(?:了|下)[^，。,.!?！？]{0,4}(?:整瓶|一瓶|半瓶|一把|一大把|很多|好多)(?:的)?药|伤害自己|自残|写好遗书|遗书|永别了")),
    ("fire", "119", re.compile(
        "(?<!打不)(?<!点不)(?<!打)着火|著火|起火|失火|火灾|大火|烧起来|火势|火燭|火烛|燃起来|火光冲天|着大火")),
    ("smoke", "119", re.compile("冒烟|冒黑烟|浓烟|黑烟滚滚|烟雾很大|烟很大|好多烟|全是烟")),
    ("gas", "119", re.compile(
        "(?:煤气|燃气|天然气|液化气|石油气)(?:罐|瓶|钢瓶|管|管道|管子|阀门|阀|灶|表)?(?:在)?(?:味|泄漏|泄露|漏了|漏气|"
        "在漏|罐爆)|(?:漏|泄)(?:煤气|燃气|天然气|液化气)|(?:气罐|气瓶|钢瓶)(?:在)?(?:漏|泄)|"
        "(?:气|罐|瓶|管)[^，。,.!?！？]{0,6}嘶嘶|嘶嘶[^，。,.!?！？]{0,6}(?:漏|气)|"
        "闻到(?:一股)?(?:很大的|很浓的)?(?:煤气|燃气|天然气|液化气)")),
    ("explosion", "119", re.compile("爆炸|炸开了|罐爆了")),
    ("trapped", "119", re.compile(
        "困在电梯|被困电梯|电梯(?:里)?困(?:了)?人|电梯里(?:有人)?被困|困电梯|关在电梯|电梯里出不来|"
        "被关在里面|被困(?!扰|惑)|困在(?:车|水|屋顶|楼顶|房顶|山|河|岛|里面|楼里|房间|屋里)|"
        "困在[^，。,.!?！？]{0,6}(?:出不来|下不来|出不去)|卡在[^，。,.!?！？]{0,8}出不来|"
        "(?:车|车子|车辆|人)(?:被)?(?:水|洪水)?(?:淹|冲)[^。.!?！？]{0,8}(?:出不来|困|打不开)|水(?:已经)?(?:淹到|漫到|没过)(?:了)?"
        "(?:胸口|脖子|腰|车窗|车顶)")),
    ("collapse", "119", re.compile(
        "被埋|埋(?:了|住了)?(?:人|在(?:下面|里面|底下|土里))|压在(?:下面|底下|里面)|被压住|被压在|"
        "(?:房子|房屋|楼|墙|棚|脚手架|桥|屋顶)(?:突然)?(?:塌了|倒塌|坍塌)|坍塌|塌方|山体滑坡|泥石流")),
    ("medical", "120", re.compile(
        "晕倒|暈倒|昏倒|昏迷|不省人事|没有?呼吸|不呼吸|没了呼吸|没有?心跳|心脏病(?:发|犯)|心梗|中风|脑溢血|"
        "抽搐|口吐白沫|喘不(?:上|过)气|呼吸困难|大出血|流了(?:好多|很多|一地)血|血流不止|头破血流|"
        "叫不醒|没有?意识|没反应了|(?:人|他|她|老人|老伴|爸|妈|孩子|小孩|爷爷|奶奶)倒在地上|摔倒了?起不来|触电|噎住|卡住(?:了)?喉咙|吞了.{0,6}卡住|"
        "救护车|从高处摔下|出车祸|车祸|被车撞|中毒|割伤.{0,4}很深|"
        # stroke signs
        "(?<!得)(?:说|讲)不(?:出|了)话|口齿不清|嘴(?:巴)?(?:也)?歪|口眼歪|半边(?:身子|身体|脸|手脚)?(?:都)?(?:动不了|麻|没知觉|不能动|没力)|"
        "(?:手|腿|胳膊)(?:也|都)?(?:抬不起来|动不了)|"
        # poisoning
        "毒蘑菇|误食|误服|吃错(?:了)?药|(?:全家|一家人|家里人|好几个人|几个人|大家|孩子|小孩|老人)[^，。,.!?！？]{0,6}(?:吐(?!槽)|拉肚子|腹泻)|"
        "上吐下泻|吐血|"
        # bleeding, falls, head injuries
        "(?:在|一直|不停|还在)流血|流血不止|血止不住|止不住血|出了(?:好多|很多)血|头(?:摔|磕|撞)?破了|"
        "(?:楼梯|梯子|高处|楼上|床上|树上)[^，。,.!?！？]{0,3}(?:摔|跌|掉)下来|迷迷糊糊|意识不清|神志不清|"
        # labour
        "羊水破|破水了|见红了|宫缩|(?:马上|快要|就要|要)生了(?![^，。,.!?！？]{0,8}(?:证|怎么|办|手续|登记|补贴))|"
        "生在(?:家里|车上|路上)")),
    ("violence", "110", re.compile(
        "打人|打架|斗殴|被打(?!扰|折|开|印|包|卡|针|疫苗|电话)|在打我|打我(?!电话|手机|的电话|的手机|号|座机)|砍人|持刀|拿刀|动刀|捅人|被捅|拿枪|开枪|抢劫|抢钱|抢包|"
        "(?:拿|持|提|拎|揸|举|挥|握)(?:着|著|住|起|了)?(?:一)?(?:把)?(?:菜|水果|西瓜|长|砍)?(?:刀|斧头|枪)|"
        "威胁(?:要)?(?:砍|捅|杀)|刀[^，。,.!?！？]{0,8}威胁|威胁[^，。,.!?！？]{0,8}刀|打劫|打交|劈人|斩人|"
        "家暴|绑架|劫持|强奸|性侵|非礼|入室|撬门|撬锁|闯进|小偷正在|有贼|杀人|要杀|被人跟踪|有人跟踪|威胁要杀|"
        "要跳河|要跳楼|站在楼顶|爬上楼顶")),
    ("drowning", "110", re.compile("溺水|落水|掉(?:进)?(?:河|水|海|湖|塘)里|掉水里|被水冲走|淹死|沉下去")),
    ("missing", "110", re.compile(
        "(?:孩子|小孩|老人|儿子|女儿|孙子|孙女|老伴|父亲|母亲|爸|妈|爷爷|奶奶|外婆|外公|宝宝)(?:又|已经|突然)?"
        "(?:(?:在|从)[^，。,.!?！？的]{1,8}?)?(?:走丢|走失|找不到了|不见了|失踪|丢了(?=$|[，。,.!?！？\\s]))|"
        "找了[^，。,.!?！？]{0,6}(?:小时|钟头|整天|一天|一晚|半天)[^，。,.!?！？]{0,3}(?:都|还|也)?(?:没|没有)找到")),
    ("call", "110", re.compile("救命|快报警|帮我报警|我要报警|快来人|紧急情况|出事了")),
    ("call", "119", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?119")),
    ("call", "120", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?120")),
    ("call", "110", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?110")),
]

# A crisis where the harm is already done (pills swallowed, wrists cut, bleeding) needs an ambulance
# first; one where the person is still deciding needs the police, who answer people about to act.
_SELF_HARM_DONE = re.compile(
    "(?:吃|吞|服|喝)(?:了|下)[^，。,.!?！？]{0,6}(?:药|农药|百草枯|敌敌畏)|割腕了|割了(?:手)?腕|已经割|刚割|"
    "把[^，。,.!?！？]{0,6}药[^，。,.!?！？]{0,4}(?:吃|吞|喝)(?:了|下去|光)|药[^，。,.!?！？]{0,4}(?:吃|吞|喝)(?:下去|光)|"
    "上吊了|烧炭了|跳下去了|流(?:了)?(?:好多|很多|一地)?血|在流血|(?:全|都)是血|好多血|很多血")
# A negation right before the trigger takes it back ("没有着火", "不是煤气味", "没冒烟"), unless the
# trigger is itself a negation ("没有呼吸").
_NEGATION = re.compile("(?:没有|没|并没有|不是|并非|未|无)$")
# Things, not people, fall into water: "手机掉水里了".
_NOT_A_PERSON_BEFORE = re.compile("(?:手机|钥匙|东西|钱包|眼镜|帽子|鞋子?|球|耳机|车钥匙|证件)(?:又|也|不小心)?$")
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
            if kind == "drowning" and _NOT_A_PERSON_BEFORE.search(clean[max(0, match.start() - 6):match.start()]):
                continue
            if kind == "smoke" and _NOT_SMOKE_BEFORE.search(clean[max(0, match.start() - 1):match.start()]):
                continue
            hits.append((kind, number, word))
    if not hits:
        return None
    crisis = [h for h in hits if h[0] == "self_harm"]
    if crisis:
        # A crisis is never explained away as a past complaint.
        injured = bool(_SELF_HARM_DONE.search(clean)) or any(h[0] == "medical" for h in hits)
        return Emergency(number="120" if injured else "110", kind="self_harm", is_crisis=True,
                         matched=tuple(dict.fromkeys(h[2] for h in crisis)))
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


def crisis_number(text: str) -> EmergencyNumber:
    """Whom to call for a resident in a suicide/self-harm crisis that the rules did not name (the NLU
    did): 120 when the text says the harm is already done or someone is hurt, otherwise 110."""
    if not isinstance(text, str):
        raise TypeError(f"crisis_number() needs a str, got {type(text).__name__}")
    clean = normalise(text)
    if _SELF_HARM_DONE.search(clean):
        return "120"
    found = detect(clean)
    if found is not None and (found.number == "120" or found.kind == "medical"):
        return "120"
    return "110"
