"""What the hotline says and hears, for callers who are often elderly.

Speaking: bot replies are written for screens (emoji, links, bullet lists, long numbers). On the phone
they become short sentences; phone numbers and ticket ids are read digit by digit the way Chinese
hotlines do ("幺三八，零零幺三，八零零零"); buttons become spoken options with keys; and SSML slows the
voice down. Hearing: the gateway's transcript comes in two shapes (webhook ``speech.alternatives`` and
websocket ``speech.transcripts[].alternatives``), and ASR text is normalised like every other channel's
(traditional → simplified, spoken numbers → digits) before the dialogue sees it.

Pure: no I/O besides reading router/data/voice_zh.json once.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from router.domain.normalise import normalise

__all__ = [
    "vt",
    "phrases",
    "Heard",
    "parse_speech",
    "clean_transcript",
    "is_operator_request",
    "is_skip",
    "is_repeat_request",
    "is_yes",
    "is_no",
    "asks_for_address",
    "find_phone",
    "spoken_digits",
    "to_speech",
    "spoken_options",
    "ssml",
]

_PATH = Path(__file__).resolve().parent.parent / "data" / "voice_zh.json"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return json.loads(_PATH.read_text(encoding="utf-8"))


def vt(key: str, **params: object) -> str:
    """A spoken text of the hotline (router/data/voice_zh.json ``texts``)."""
    return str(_data()["texts"][key]).format(**params)


def phrases(kind: str) -> tuple[str, ...]:
    return tuple(_data()["phrases"][kind])


# --- hearing ------------------------------------------------------------------------------------------


class Heard:
    """The best transcript of one utterance and the recogniser's confidence in it (None: not given),
    and the other transcripts the recogniser offered (checked for danger too)."""

    __slots__ = ("text", "confidence", "alternatives")

    def __init__(self, text: str, confidence: float | None, alternatives: tuple[str, ...] = ()) -> None:
        self.text, self.confidence, self.alternatives = text, confidence, alternatives

    def __repr__(self) -> str:
        return f"Heard({self.text!r}, {self.confidence!r})"


MAX_ALTERNATIVES = 5
MAX_TRANSCRIPT_CHARS = 2000


def _best(alternatives: Any) -> Heard | None:
    if not isinstance(alternatives, list):
        return None
    heard = [alt for alt in alternatives[:MAX_ALTERNATIVES]
             if isinstance(alt, dict) and isinstance(alt.get("transcript"), str) and alt["transcript"].strip()]
    if not heard:
        return None
    best = heard[0]  # jambonz orders alternatives best first
    conf = best.get("confidence")
    number = float(conf) if isinstance(conf, (int, float)) and not isinstance(conf, bool) else None
    others = tuple(a["transcript"].strip()[:MAX_TRANSCRIPT_CHARS] for a in heard[1:])
    return Heard(best["transcript"].strip()[:MAX_TRANSCRIPT_CHARS], number, others)


def parse_speech(speech: Any) -> Heard | None:
    """The transcript in a gather actionHook's ``speech`` object, in either of jambonz's two shapes."""
    if not isinstance(speech, dict):
        return None
    heard = _best(speech.get("alternatives"))
    if heard is None and isinstance(speech.get("transcripts"), list):
        for tr in speech["transcripts"]:
            if isinstance(tr, dict):
                heard = _best(tr.get("alternatives"))
                if heard is not None:
                    break
    return heard


_FILLERS = re.compile(r"^(?:[嗯啊呃哦额唉喂]+|那个|就是说|这个)[，,。.\s]*")
_END_PUNCT = re.compile(r"[。.!！?？,，\s]+$")


def clean_transcript(text: str) -> str:
    """ASR text → the canonical form the dialogue expects (normalise) without hesitation sounds."""
    text = normalise(text)
    previous = None
    while previous != text:  # "嗯，那个，我家…" carries several
        previous = text
        text = _FILLERS.sub("", text, count=1)
    return _END_PUNCT.sub("", text).strip()


def _bare(text: str) -> str:
    return re.sub(r"[\s，,。.!！?？、~～吧呀啊呢哈了]+", "", text)


# Only short utterances count as commands: "我没听清他们说什么就被罚款了" is a complaint, not a request
# to repeat the last answer.
_COMMAND_MAX = 12


def is_operator_request(text: str) -> bool:
    bare = _bare(text)
    return "转人工" in bare or (len(bare) <= _COMMAND_MAX and any(p in bare for p in phrases("operator")))


def is_repeat_request(text: str) -> bool:
    bare = _bare(text)
    return len(bare) <= _COMMAND_MAX and any(p in bare for p in phrases("repeat"))


def is_yes(text: str) -> bool:
    bare = _bare(text)
    return bare in phrases("yes") or (bare.startswith(("是的", "对的", "没错")) and len(bare) <= 6)


def is_no(text: str) -> bool:
    bare = _bare(text)
    return bare in phrases("no") or (bare.startswith(("不是", "不对")) and len(bare) <= 6)


def is_skip(text: str) -> bool:
    """"跳过" / "不清楚": an answer that declines the question, never an address to read back."""
    bare = _bare(text)
    return len(bare) <= _COMMAND_MAX and any(p in bare for p in phrases("skip"))


def asks_for_address(bot_text: str) -> bool:
    """Did the last answer ask where the problem is? Then the caller's next words are an address."""
    return any(p in bot_text for p in phrases("address_question"))


_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")


def find_phone(text: str) -> str | None:
    """A mobile or landline number in (normalised) caller text."""
    m = _PHONE.search(text)
    return m.group(1) if m else None


# --- speaking -----------------------------------------------------------------------------------------


def _digit_words(digits: str) -> str:
    table = _data()["spoken_digits"]
    return "".join(table.get(d, d) for d in digits)


def spoken_digits(number: str) -> str:
    """A number read one digit at a time, in groups: mobiles 3-4-4, others in fours or as written."""
    groups = [g for g in re.split(r"[-\s]+", number.strip()) if g]
    if len(groups) == 1:
        d = groups[0]
        if len(d) == 11 and d.startswith("1"):
            groups = [d[:3], d[3:7], d[7:]]
        elif len(d) > 5:
            groups = [d[i:i + 4] for i in range(0, len(d), 4)]
    return "，".join(_digit_words(g) for g in groups)


_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s\u3000-\u303f\uff00-\uffef]*")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u200d\ufe0e\ufe0f\u20e3]")
_MARKUP = re.compile(r"[*_`#>|\[\]]+")
_BULLET = re.compile(r"(?m)^\s*(?:[-•·●▪◦]|\d+[.、)）])\s*")
_TICKET = re.compile(r"(?i)(?<![A-Za-z])SZ-?(\d{8})-?(\d{6})(?!\d)")
_LANDLINE = re.compile(r"(?<![\d-])(0\d{2,3})-(\d{7,8})(?![\d-])")
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{5,}(?![\d.])")
_SHORT_SERVICE = re.compile(r"(?<!\d)(110|119|120|122)(?!\d)")
_SENTENCE_END = re.compile(r"\s*\n+\s*")


def to_speech(text: str) -> str:
    """A screen reply as it should sound: no links or emoji, numbers read digit by digit, sentences."""
    text = _URL.sub("", text)
    text = _EMOJI.sub("", text)
    text = _BULLET.sub("", text)
    text = _MARKUP.sub("", text)
    text = _TICKET.sub(lambda m: f"S Z，{spoken_digits(m.group(1))}，{_digit_words(m.group(2))}", text)
    text = _LANDLINE.sub(lambda m: spoken_digits(f"{m.group(1)}-{m.group(2)}"), text)
    text = _LONG_DIGITS.sub(lambda m: spoken_digits(m.group(0)), text)
    text = _SHORT_SERVICE.sub(lambda m: _digit_words(m.group(1)), text)
    text = _SENTENCE_END.sub("。", text.strip())
    text = re.sub(r"([。！？；])[。，；：\s]+", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+(?=[，。！？；：,.!?;:])", "", text)
    text = re.sub(r"[（(]\s*[)）]", "", text)  # a link in brackets leaves an empty pair behind
    return text.strip(" ，,：:")


def spoken_options(titles: list[str]) -> str:
    """Buttons as a spoken menu: 您可以说“查进度”，或者按1；说“转人工”，或者按2。"""
    parts = []
    for i, title in enumerate(titles[:9], start=1):
        key = "option_first" if i == 1 else "option_next"
        parts.append(vt(key, title=to_speech(title), digit=i))
    return "；".join(parts) + "。" if parts else ""


_SPLIT = re.compile(r"(?<=[。！？；])")


def ssml(text: str, rate: str) -> str:
    """Plain text as SSML, slower (``rate``, e.g. "slow" or "85%") with a pause between sentences.

    With an empty rate the text is returned as it is: some TTS engines read SSML tags aloud.
    """
    if not rate:
        return text
    sentences = [escape(s.strip()) for s in _SPLIT.split(text) if s.strip()]
    body = '<break time="300ms"/>'.join(sentences)
    return f'<speak><prosody rate="{escape(rate, {chr(34): "&quot;"})}">{body}</prosody></speak>'
