"""Safety words heard wrong: put them back before the emergency rules read the text.

A phone gateway's speech recogniser writes what it hears, and under a bad line, an accent or panic it
writes a homophone: "楼下着活，好大的烟" for 着火, "煤汽味" for 煤气味, "就命啊" for 救命啊. The rules
in router.domain.emergency match characters, so they miss these. Here every character becomes its
possible readings (pypinyin, all readings of a polyphone), loosened the way southern speakers and
recognisers blur them (no tones; zh/z, ch/c, sh/s; n/l; -ng/-n; f/h before u), and the safety phrases
below are looked for in that sound sequence. Where one is found in other characters, ``repair`` writes
the phrase back into the text, so the same rules — with their negation, past-event and hazard checks —
decide on the repaired text.

Phrases are three syllables or more, or two syllables that no everyday word shares (期货 sounds like
起火, 或在 like 火灾: those pairs are not here; nor 轻生, which "请生态环境部门" is heard as, nor 抢劫, heard
in a street name's "前阶"); bench/results/intake.md measures the false alarms this adds on real letters.

Imports pypinyin (router runtime only); loaded once on first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["INTENT_PHRASES", "PHRASES", "Repair", "loose", "repair", "readings"]

# The safety phrases, in the characters the emergency rules know.
PHRASES: tuple[str, ...] = (
    # fire, smoke, gas
    "着火了", "起火了", "失火了", "着大火", "火烧起来", "烧起来了", "冒烟了", "冒黑烟", "好大的烟", "好多烟", "全是烟",
    "浓烟", "煤气味", "燃气味", "天然气味", "煤气泄漏", "燃气泄漏", "漏煤气", "漏燃气", "天然气泄漏", "着火",
    "火烛", "爆炸了",
    # calls for help
    "救命啊", "救命", "快报警", "帮我报警", "我要报警", "快来人", "叫救护车", "救护车",
    # medical
    "晕倒了", "晕倒", "昏倒了", "昏过去了", "昏迷了", "没有呼吸", "没呼吸了", "不能呼吸", "喘不过气", "喘不上气",
    "心脏病发作", "叫不醒", "口吐白沫", "抽搐", "中风了", "流了好多血", "血流不止", "好多血", "大出血", "止不住血",
    "臭鸡蛋味", "栏杆外面", "栏杆外", "护栏外面", "眼睛往上翻", "叫不应",
    # violence, threats, crime
    "杀人了", "要杀我", "要杀人", "砍人了", "砍死你", "弄死你", "打死你", "杀了你", "持刀", "拿着刀", "拿刀",
    "家暴", "入室", "撬门", "撬锁", "打人了", "被打了",
    # trapped, water, missing
    "困在电梯", "关在电梯", "电梯困人", "被困住", "被困", "出不来了", "下不去了", "有人溺水", "小孩溺水", "孩子溺水", "掉水里", "掉进河里",
    "走丢了", "不见了", "找不到了",
    # self-harm
    "自杀", "跳楼", "不想活了", "不想活", "想去死", "活不下去", "割腕", "安眠药", "农药", "上吊", "烧炭",
    "敌敌畏", "百草枯", "吃了很多药", "吃了好多药", "一直流血", "止不住",
    # said other ways (outside authors' callers, 2026-12-04): a gas bottle hissing, a car alight, a heart,
    # a baby coming, a choke, a kicked door, a child swept away, a scam on the line
    "煤气罐", "燃气罐", "液化气罐", "自燃了", "烧着了", "心脏病犯了", "心脏病发了", "喘不上来", "透不过气", "血止不住",
    "羊水破了", "噎住了", "卡住喉咙", "没反应了", "叫不应", "晕过去了", "说不出话", "嘴歪了", "摔倒了",
    "吃了安眠药", "喝了农药", "踹门", "砸门", "踢门", "拿着菜刀", "拿菜刀", "要打死", "被人打", "掉河里", "掉进水里",
    "掉海里", "落水了", "被水冲走", "走失了", "被压住", "压住了", "屏幕共享", "安全账户",
    # bleeding that will not stop, a face gone purple (2026-12-04, the dev sets' phone lines)
    "脸都紫了", "嘴唇发紫", "流血止不住", "往外冒烟", "往外冒黑烟", "阳台栏杆外面", "阳台栏杆外", "活着没意思",
    # smoke under a door, a wish to be gone, an elder with dementia (2026-12-04, residents_dev7's phone line)
    "在冒烟", "不在了就清净", "老年痴呆",
    # a choke, a whole bottle of pills, a door sealed with tape, being followed home (2026-12-05, the dev
    # sets' phone lines)
    "卡住了", "一整瓶", "门缝", "胶带", "跟到我楼下", "湿透了", "石油气味",
    # the smell of gas as an elderly caller says it (2026-12-05, residents_dev13's phone line)
    "臭鸡蛋",
    # CPR being given, a child and the blood-pressure pills (2026-12-05, safety_dev17's phone line: "新肺腹肃", "酱鸭要")
    "心肺复苏", "降压药",
    # a fight with knives, someone not come up, smoke rising (residents_dev17's phone line: "岭住刀…展人", "没扶上来",
    # "有烟网上冒")
    "斩人", "拎住刀", "拎着刀", "没浮上来", "烟往上冒",
)

# Words that say what a caller wants, heard wrong just as often ("公单" for 工单, "专人工" for 转人工):
# repaired before the intake's cues read a spoken turn.
INTENT_PHRASES: tuple[str, ...] = (
    "工单", "单号", "工单号", "转人工", "人工", "活人", "人工客服", "人工服务", "真人", "接线员", "工作人员", "领导", "负责人",
    "处理结果", "进度", "催办", "撤销", "投诉", "举报", "反映", "加急",
    # "显示以半节…怎么就半节了" (residents_dev17's phone line)
    "办结", "已办结",
)

_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))


def loose(syllable: str) -> str:
    """A syllable as a blurred ear hears it: tones gone, zh/z ch/c sh/s and n/l merged, -ng → -n,
    hu- → fu-."""
    s = re.sub(r"[0-9]", "", syllable.lower()).replace("ü", "v")
    for a, b in _INITIALS:
        if s.startswith(a):
            s = b + s[len(a):]
            break
    if s.startswith("n") and len(s) > 1:
        s = "l" + s[1:]
    if s.endswith("ng") and not s.endswith("ong"):
        s = s[:-1]
    if s.startswith("hu"):
        s = "f" + s[1:]
    return s


@lru_cache(maxsize=8192)
def readings(ch: str) -> frozenset[str]:
    """Every loose reading of one character; a non-Chinese character reads as itself."""
    if not "\u4e00" <= ch <= "\u9fff":
        return frozenset((ch,))
    from pypinyin import Style, pinyin

    # The two commonest readings: rare ones (接 read "sha") make everyday words sound like danger. A few
    # everyday characters whose second reading is literary only read one way (说 as "shui" made every
    # "你说" sound like 溺水).
    if ch in _ONE_READING:
        return frozenset((_ONE_READING[ch],))
    return frozenset(loose(p) for p in pinyin(ch, style=Style.NORMAL, heteronym=True)[0][:2])


_ONE_READING = {"说": "suo"}
# Everyday words the segmenter's dictionary lacks in the form a recogniser writes them: "活著" (活着, alive)
# sounds like 火烛 (residents_dev17's phone line: "我活著没意思了").
_EVERYDAY = frozenset({"活著", "活着", "活住"})


# Characters with two everyday readings: a recogniser may write them for either sound (长 chang/zhang, 还
# hai/huan). Any other character it wrote stands for its first reading only: its rare second one (园 "wan",
# 但 "tan", 踹 "shuan") made "隔园" sound like 割腕 and "烧但" like 烧炭.
_TWO_EVERYDAY_READINGS = frozenset(
    "行长还都重着了得地只为要便传种调乐好少中几当教觉看空难相应转更卷发干和朝藏差称冲处答打大倒的恶"
    "分缝供冠号喝横划会假间将降角结解借尽经卡壳可量露落蒙难宁漂铺强曲任散丧色扇上盛石数刷似宿"
    "提体挑通吐系鲜相削兴血压咽要一殷饮晕载扎占正转钻作")


@lru_cache(maxsize=8192)
def heard_as(ch: str) -> frozenset[str]:
    """The sounds a character the recogniser wrote may stand for: its first reading, or both for the
    characters with two everyday readings."""
    both = readings(ch)
    if ch in _TWO_EVERYDAY_READINGS or len(both) < 2 or not "\u4e00" <= ch <= "\u9fff":
        return both
    from pypinyin import Style, pinyin

    return frozenset((loose(pinyin(ch, style=Style.NORMAL, heteronym=True)[0][0]),))


@lru_cache(maxsize=4)
def _phrases_by_first_sound(phrases: tuple[str, ...] = PHRASES
                            ) -> dict[str, tuple[tuple[str, tuple[frozenset[str], ...]], ...]]:
    """first loose syllable → (phrase, its sounds), longest phrase first."""
    by_first: dict[str, list[tuple[str, tuple[frozenset[str], ...]]]] = {}
    for phrase in sorted(phrases, key=len, reverse=True):
        sounds = tuple(heard_as(c) for c in phrase)
        for first in sounds[0]:
            by_first.setdefault(first, []).append((phrase, sounds))
    return {k: tuple(v) for k, v in by_first.items()}


@dataclass(frozen=True)
class Repair:
    text: str  # the text with the heard-wrong phrases written back
    fixes: tuple[tuple[str, str], ...]  # (what the recogniser wrote, the phrase it stands for)


_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _words() -> tuple[dict[str, int], object]:
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ, jieba.dt


def _boundaries(head: str) -> set[int]:
    """Where the usual segmentation puts word boundaries: a mishearing replaces whole words ("几个晚上"
    holds 个晚, which sounds like 割腕 but is no word of it)."""
    _freq, tokenizer = _words()
    bounds = {0, len(head)}
    for m in re.finditer(r"[\u4e00-\u9fff]+", head):
        bounds.update(m.start() + e for _w, _s, e in tokenizer.tokenize(m.group(0), HMM=False))  # type: ignore[attr-defined]
        bounds.add(m.start())
    return bounds


def repair(text: str, *, max_chars: int = 400, phrases: tuple[str, ...] = PHRASES) -> Repair:
    """Write safety phrases heard as homophones back into ``text``. Only Chinese characters are read
    (spaces and punctuation the recogniser put between them are skipped); only the first ``max_chars``
    characters are looked at, which bounds the work on any input. A stretch that is a word of the
    language ("直接", "拆掉") or starts or ends inside one is not a mishearing."""
    head, tail = text[:max_chars], text[max_chars:]
    freq, _tokenizer = _words()
    bounds = _boundaries(head)
    positions = [i for i, ch in enumerate(head) if _CJK.match(ch)]
    sounds = [heard_as(head[i]) for i in positions]
    by_first = _phrases_by_first_sound(phrases)
    chars = list(head)
    fixes: list[tuple[str, str]] = []
    taken: set[int] = set()
    for start in range(len(positions)):
        if positions[start] in taken:
            continue
        candidates = {p: s for r in sounds[start] for p, s in by_first.get(r, ())}
        for phrase, phrase_sounds in sorted(candidates.items(), key=lambda kv: -len(kv[0])):
            n = len(phrase_sounds)
            if start + n > len(positions):
                continue
            if not all(sounds[start + k] & phrase_sounds[k] for k in range(n)):
                continue
            span = positions[start : start + n]
            heard = "".join(head[i] for i in span)
            if heard != phrase and (span[0] not in bounds or span[-1] + 1 not in bounds or heard in freq
                                    or heard in _EVERYDAY):
                continue
            if heard != phrase:
                for k, i in enumerate(span):
                    chars[i] = phrase[k]
                fixes.append((heard, phrase))
            taken.update(span)
            break
    return Repair("".join(chars) + tail if fixes else text, tuple(fixes))
