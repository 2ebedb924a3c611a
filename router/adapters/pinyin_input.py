"""Messages typed in pinyin ("qing wen ju zhu zheng di yi ci ban yao dai shen me"), read as Chinese characters.

A resident whose phone has no Chinese keyboard, or who cannot write the characters, types the sounds. Every
reader downstream (the rules, the cues, the danger and city models, the catalogue, Rasa's NLU) knows
characters, so the message is turned into the likeliest characters first: the syllables are split into
words of the jieba dictionary (its frequencies are the language model: the segmentation with the highest
sum of log-probabilities wins), with the service's own words added (工单, 居住证,
转人工…, and the safety and intent phrases of router.domain.phonetic). Tones are not needed; a syllable run without spaces ("juzhuzheng") is split into syllables.

The resident's own text is what the transcript keeps; the characters are only what the service reads.

Reads jieba's dictionary file (an adapter: the domain does no I/O); needs pypinyin, as router.domain.phonetic does.
"""

from __future__ import annotations

import math
import os
import re
from functools import lru_cache

__all__ = ["looks_like_pinyin", "to_hanzi", "warm"]

MIN_SYLLABLES = 3          # fewer say too little ("ni hao" aside, which the greeting cues read anyway)
MIN_LATIN_SHARE = 0.7      # of the message's non-space characters
MIN_PINYIN_TOKENS = 0.9    # of its words, each a syllable or a run of syllables
MAX_WORD_SYLLABLES = 4
MIN_WORD_FREQ = 20         # jieba's rarer words make odd readings of everyday syllables
_TOKEN = re.compile(r"[A-Za-zü]+|[^A-Za-zü\s]+")
_LATIN = re.compile(r"[A-Za-zü]")

# The service's own words, at a frequency that beats their homophones.
SERVICE_WORDS = ("工单", "单号", "转人工", "人工", "居住证", "身份证", "社保", "医保", "公积金", "户口", "投诉", "举报",
                 "反映", "进度", "催办", "撤销", "噪音", "物业", "城管", "街道", "社区", "网格员", "派出所", "救命",
                 "着火", "报警", "救护车", "老人卡", "长者卡", "港澳通行证", "护照", "驾驶证", "营业执照", "学位",
                 "积分入户", "低保", "残疾证", "怎么办", "怎么", "办理", "在哪里", "需要", "什么", "材料", "第一次",
                 "要带", "没人", "没有人", "太吵", "好吵", "补办", "换证", "续签", "申请", "预约", "处理", "解决", "维修",
                 "不想活", "活了", "帮帮我", "快来", "被关", "关在", "房间里", "上个星期", "这个星期", "星期", "餐馆",
                 "被困", "被骗", "被打", "被抢", "怎么样了", "陪我", "聊天", "很浓", "烟味", "冒到", "烟已经", "火已经")
SERVICE_WORD_FREQ = 200_000


def _all_hanzi(word: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in word)


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[tuple[str, ...], tuple[str, float]], frozenset[str]]:
    """(syllables → (likeliest word, its log-frequency), every syllable)."""
    import jieba
    from pypinyin import lazy_pinyin

    counts: dict[str, int] = {}
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and len(parts[0]) <= MAX_WORD_SYLLABLES and parts[1].isdigit() \
                    and int(parts[1]) >= MIN_WORD_FREQ and _all_hanzi(parts[0]):
                counts[parts[0]] = int(parts[1])
    from router.domain.phonetic import INTENT_PHRASES, PHRASES  # the safety and intent words the rules know

    for word in (*SERVICE_WORDS, *PHRASES, *INTENT_PHRASES):
        if _all_hanzi(word):
            counts[word] = max(counts.get(word, 0), SERVICE_WORD_FREQ)
    total = math.log(sum(counts.values()))
    words: dict[tuple[str, ...], tuple[str, float]] = {}
    for word, freq in counts.items():
        key = tuple(lazy_pinyin(word))
        if len(key) != len(word) or not all(k.isalpha() for k in key):
            continue
        score = math.log(freq) - total  # the word's log-probability: fewer, likelier words win
        if key not in words or words[key][1] < score:
            words[key] = (word, score)
    syllables = frozenset(s for key in words for s in key)
    return words, syllables


def _split_run(token: str, syllables: frozenset[str]) -> list[str] | None:
    """``token`` as syllables (fewest wins), or None."""
    n = len(token)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(1, n + 1):
        for j in range(max(0, i - 6), i):
            prev = best[j]
            if prev is not None and token[j:i] in syllables:
                cand = prev + [token[j:i]]
                here = best[i]
                if here is None or len(cand) < len(here):
                    best[i] = cand
    return best[n]


def _syllables(text: str) -> list[str | tuple[str]] | None:
    """The message as syllables (str) and other runs kept as they are (1-tuples), or None if it is not pinyin."""
    _, syllables = _lexicon()
    out: list[str | tuple[str]] = []
    tokens = pinyin_tokens = 0
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if not _LATIN.match(token):
            out.append((token,))
            continue
        tokens += 1
        low = token.lower()
        split = [low] if low in syllables else _split_run(low, syllables)
        if split is None:
            out.append((token,))
            continue
        pinyin_tokens += 1
        out.extend(split)
    n_syllables = sum(isinstance(x, str) for x in out)
    if tokens == 0 or n_syllables < MIN_SYLLABLES or pinyin_tokens / tokens < MIN_PINYIN_TOKENS:
        return None
    return out


def _pinyin_parts(text: str) -> list[str | tuple[str]] | None:
    """``text`` as syllables and other runs (``_syllables``) when it is mostly pinyin — letters for most of it,
    and nearly every word of them syllables — else None."""
    bare = re.sub(r"\s+", "", text)
    if not bare or len(_LATIN.findall(bare)) / len(bare) < MIN_LATIN_SHARE:
        return None
    return _syllables(text)


def looks_like_pinyin(text: str) -> bool:
    """Whether ``text`` is mostly pinyin: letters for most of it, and nearly every word of them syllables."""
    return _pinyin_parts(text) is not None


def _words(syllables: list[str]) -> str:
    """The likeliest characters for a run of syllables: the segmentation into lexicon words with the highest
    sum of log-probabilities (a unigram model: fewer, likelier words win)."""
    words, _ = _lexicon()
    n = len(syllables)
    best: list[tuple[float, str] | None] = [None] * (n + 1)
    best[0] = (0.0, "")
    for i in range(1, n + 1):
        for j in range(max(0, i - MAX_WORD_SYLLABLES), i):
            prev = best[j]
            hit = words.get(tuple(syllables[j:i]))
            if prev is None or hit is None:
                continue
            cand = (prev[0] + hit[1], prev[1] + hit[0])
            here = best[i]
            if here is None or cand[0] > here[0]:
                best[i] = cand
        last = best[i - 1]
        if best[i] is None and last is not None:
            best[i] = (last[0] - 30.0, last[1] + syllables[i - 1])  # a syllable no word has: kept as letters
    done = best[n]
    return done[1] if done is not None else " ".join(syllables)


def to_hanzi(text: str) -> str:
    """``text`` in characters when it is pinyin, else ``text`` unchanged.

    >>> to_hanzi("qing wen ju zhu zheng zen me ban")
    '请问居住证怎么办'
    """
    parts = _pinyin_parts(text) if isinstance(text, str) and len(text) <= 2000 else None
    if parts is None:
        return text
    out: list[str] = []
    run: list[str] = []
    for part in parts:
        if isinstance(part, str):
            run.append(part)
            continue
        if run:
            out.append(_words(run))
            run = []
        out.append(part[0])
    if run:
        out.append(_words(run))
    return "".join(out)


def warm() -> None:
    """Build the lexicon now (about 3 s of CPU), so that the first resident who types pinyin does not wait."""
    _lexicon()
