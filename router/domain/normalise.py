"""Text normalisation shared by the router and the Rasa pipeline.

Residents type traditional characters, full-width letters and digits, emoji; the voice gateway's
speech recogniser writes numbers as words ("幺三八…", "零七五五") and puts spaces between phrases.
Everything that later matches words (the Rasa tokenizer, the emergency detector, the 属地 resolver,
regexes for phones and ticket ids) sees one canonical form: simplified characters, half-width ASCII,
Arabic digits for phone numbers / house numbers / ticket ids, tidy whitespace and emoji.

Pure: imports only the standard library and opencc, so the bot runtime (Python 3.10) can use it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "normalise", "normalise_with_spans", "to_simplified", "spoken_digits_to_arabic", "spoken_ticket_ids", "ticket_ids",
    "chinese_numeral_to_int",
]

# Digit-by-digit readings. 幺 is how "1" is read out in phone numbers; 两 is not used digit by digit.
_DIGITS = {"零": "0", "〇": "0", "○": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "三": "3",
           "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_DIGIT_CHARS = "零〇○幺一二三四五六七八九"
# A run of three or more spoken digits (Arabic digits may be mixed in, as ASR output does) is a
# number read digit by digit: a phone, a house number, a ticket id. Two-character runs such as
# "三五天" or "一二楼" are quantities and stay as they are.
_DIGIT_RUN = re.compile(rf"[{_DIGIT_CHARS}0-9]{{3,}}")

# Positional numerals in front of address units: "三十五号" → "35号", "十二栋" → "12栋".
_UNITS = "号楼|号院|号|栋|幢|座|楼|层|室|单元|弄|巷|期|房"
_POSITIONAL = re.compile(rf"([零〇一二两三四五六七八九十百千]+)(?=(?:{_UNITS}))")
_NUMERAL_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                  "七": 7, "八": 8, "九": 9}
_NUMERAL_SCALE = {"十": 10, "百": 100, "千": 1000}

# Spaces the recogniser puts between groups of a phone number: "138 1234 5678".
_SPACED_DIGITS = re.compile(r"(?<=\d{3})[ \t]+(?=\d{3})")
# Ticket ids as residents type or say them: "sz20261125 000123", "SZ 20261125-000123".
_TICKET = re.compile(r"(?i)(?<![a-z0-9])s\s*z\s*[-_ ]?\s*(\d{8})\s*[-_—–~ ]?\s*(\d{6})(?!\d)")
# A ticket id read out by the speech recogniser: "S Z 二零二六一一二零 零零零零三一", "sz 2026 1120 杠 0000 31".
# After the "SZ" prefix, digits (spoken or Arabic) in groups of any size, separated by spaces or a
# spoken or written dash. It is rewritten only when exactly 14 digits follow and no further digit
# comes straight after them; a dash, if said, must sit after the 8-digit date. Anything else is left
# alone rather than guessed.
_CANONICAL_TICKET = re.compile(r"SZ\d{8}-\d{6}")
_CANONICAL_TICKET_SPLIT = re.compile(r"(SZ\d{8}-\d{6})")
_SPOKEN_TICKET_START = re.compile(r"(?i)(?<![a-z0-9])s\s*z")
_SPOKEN_TICKET_DASHES = ("横杠", "杠", "减", "-", "_", "—", "–")

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}，。！？、；：])\s+|\s+(?=[{_CJK}，。！？、；：])")
_WHITESPACE = re.compile(r"\s+")
_REPEATED_PUNCT = re.compile(r"([!?,.。！？，、~～])\1+")
# Zero-width joiners, variation selectors and skin-tone modifiers make one emoji several code points.
_EMOJI_GLUE = re.compile("[\u200b-\u200f\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff"
_REPEATED_EMOJI = re.compile(rf"([{_EMOJI}])\1+")


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    # Building the converter reads its dictionaries; do it once and only when first needed.
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=32768)
def _changes(ch: str) -> bool:
    return ch >= "\u2e80" and str(_converter().convert(ch)) != ch


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC t2s). Most residents type simplified characters: a text
    none of whose characters OpenCC would change is returned as it is (OpenCC's pure-Python converter
    costs ~3 ms per 1,000 characters; the check a few microseconds)."""
    if not any(_changes(ch) for ch in set(text)):
        return text
    return str(_converter().convert(text))


def _half_width(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def chinese_numeral_to_int(numeral: str) -> int:
    """Value of a positional Chinese numeral: "三十五" → 35, "十二" → 12, "一百零二" → 102.

    A numeral without scale characters is read digit by digit ("二零一" → 201).
    Raises ValueError for anything that is not a numeral.
    """
    if not numeral or any(ch not in _NUMERAL_VALUE and ch not in _NUMERAL_SCALE for ch in numeral):
        raise ValueError(f"not a Chinese numeral: {numeral!r}")
    if not any(ch in _NUMERAL_SCALE for ch in numeral):
        return int("".join(str(_NUMERAL_VALUE[ch]) for ch in numeral))
    total, current = 0, 0
    for ch in numeral:
        if ch in _NUMERAL_VALUE:
            current = _NUMERAL_VALUE[ch]
        else:
            # "十二" starts with the scale: it means one ten.
            total += (current or 1) * _NUMERAL_SCALE[ch]
            current = 0
    return total + current


def spoken_digits_to_arabic(text: str) -> str:
    """Rewrite numbers read out as words into Arabic digits, keeping leading zeros.

    "零七五五" → "0755", "幺三八零零一三八零零零" → "13800138000", "三十五号" → "35号".
    """
    text = _DIGIT_RUN.sub(lambda m: "".join(_DIGITS.get(ch, ch) for ch in m.group(0)), text)

    def positional(m: re.Match[str]) -> str:
        numeral = m.group(1)
        # "上百楼" etc. never reach here (not numerals); a lone "零" is not a house number.
        if numeral in {"零", "〇"}:
            return numeral
        return str(chinese_numeral_to_int(numeral))

    return _POSITIONAL.sub(positional, text)


def _spoken_ticket_id(text: str, start: int) -> tuple[str, int] | None:
    """(canonical id, end offset) of a ticket id read out from `start` (just after "SZ"), or None."""
    digits: list[str] = []
    dash_at: int | None = None
    i, end = start, start
    while i < len(text) and len(digits) < 14:
        ch = text[i]
        if ch in _DIGITS or ch.isdigit() and ch.isascii():
            digits.append(_DIGITS.get(ch, ch))
            i += 1
            end = i
            continue
        if ch.isspace():
            i += 1
            continue
        dash = next((d for d in _SPOKEN_TICKET_DASHES if text.startswith(d, i)), None)
        if dash is None or dash_at is not None or not digits:
            return None
        dash_at = len(digits)
        i += len(dash)
    if len(digits) != 14 or (dash_at is not None and dash_at != 8):
        return None
    rest = text[end:].lstrip()
    # A 15th digit means we cannot tell where the id ends: leave it. "一" followed by a non-digit is a
    # word ("一下", "一个"), not a digit.
    if rest[:1].isascii() and rest[:1].isdigit():
        return None
    if rest[:1] in _DIGITS and not (rest[:1] == "一" and rest[1:2] and rest[1:2] not in _DIGITS
                                    and not rest[1:2].isdigit()):
        return None
    return f"SZ{''.join(digits[:8])}-{''.join(digits[8:])}", end


def spoken_ticket_ids(text: str) -> str:
    """Rewrite ticket ids read out in words or in groups into "SZ20261120-000031" (see above)."""
    out: list[str] = []
    cursor = 0
    for m in _SPOKEN_TICKET_START.finditer(text):
        if m.start() < cursor:
            continue
        found = _spoken_ticket_id(text, m.end())
        if found is None:
            continue
        ticket, end = found
        out.append(text[cursor:m.start()])
        out.append(ticket)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _tidy(text: str) -> str:
    text = _EMOJI_GLUE.sub("", text)
    text = _REPEATED_EMOJI.sub(r"\1", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _WHITESPACE.sub(" ", text).strip()
    # Speech recognisers and some keyboards put spaces between Chinese phrases; they carry no meaning
    # and would split words for the tokenizer. Spaces between Latin words stay.
    return _SPACE_BETWEEN_CJK.sub("", text)


def normalise(text: str) -> str:
    """The canonical form of a resident's message (see the module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"normalise() needs a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text)
    text = _half_width(text)
    text = to_simplified(text)
    text = spoken_ticket_ids(text)
    # Canonical ticket ids are left as they are, so a following "一下" is not glued on as a digit.
    text = "".join(piece if _CANONICAL_TICKET.fullmatch(piece) else spoken_digits_to_arabic(piece)
                   for piece in _CANONICAL_TICKET_SPLIT.split(text))
    text = _SPACED_DIGITS.sub("", text)
    text = _TICKET.sub(lambda m: f"SZ{m.group(1)}-{m.group(2)}", text)
    return _tidy(text)


def ticket_ids(text: str) -> list[str]:
    """The ticket ids ("SZ20261120-000031") in `text`, in order, without repeats; `text` may be raw."""
    return list(dict.fromkeys(_CANONICAL_TICKET.findall(normalise(text))))


def normalise_with_spans(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """Normalise `text` and move the (start, end) spans to where they land in the result.

    Used for annotated training examples: the gaps between spans and each span's own text are
    normalised separately, so a span never swallows or loses a neighbour's characters.
    Overlapping or out-of-range spans are a ValueError.
    """
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    pieces: list[str] = []
    moved: list[tuple[int, int]] = [(0, 0)] * len(spans)
    cursor = length = 0
    for i in order:
        start, end = spans[i]
        if start < cursor or end < start or end > len(text):
            raise ValueError(f"bad or overlapping span {spans[i]} in {text!r}")
        gap = normalise(text[cursor:start])
        # Keep a separating space between Latin words, as normalising the whole text would.
        if gap and pieces and pieces[-1][-1:].isascii() and pieces[-1][-1:].isalnum() and gap[0].isascii() \
                and gap[0].isalnum():
            gap = " " + gap
        pieces.append(gap)
        length += len(gap)
        value = normalise(text[start:end]) or text[start:end]
        moved[i] = (length, length + len(value))
        pieces.append(value)
        length += len(value)
        cursor = end
    pieces.append(normalise(text[cursor:]))
    return "".join(pieces), moved
