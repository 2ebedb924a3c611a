"""Personal data masked out of what a reader without the right to see it is shown (console, residents).

Pure: standard library only.

One function, ``mask_pii``, for every place the console shows what a resident said or typed (transcript
lines, the bot's summary, ticket text, address and reasons) and for fields that hold one number (a voice
caller's id, a ticket's contact phone: ``whole=True``). It finds, in any of the writings below:

- mobile numbers (11 digits, 1[3-9]…), also with +86 / 0086 / 86 in front: ``138****5678``,
  ``+86 138****5678``;
- landlines with their area code (0755-86001234, (0755) 8600 1234, +86 755 8600 1234): ``0755-****1234``;
- 18-digit resident ID numbers, the last one possibly X: ``440***********1234``.

Digits count in every writing a resident uses: ASCII, full-width (１３８…) and Chinese numerals as a
number is read out or dictated (幺三八…, 洞 for 0, 拐 for 7, 两 for 2), in groups split by spaces,
dashes, dots or commas. Every form keeps the same digits visible (the first three and the last four) and
shows them in ASCII, so two places showing one number never add up to the whole of it.

A run of Chinese numerals is also searched inside longer runs (张三幺三八…: the 三 of the name must not
hide the number); ASCII digits are not, so ticket ids, dates and amounts stay as they are. Bare 7-8 digit
local numbers without an area code are not masked: in free text they cannot be told from amounts, dates
and house numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["mask_pii"]

_CHINESE_DIGITS = {
    "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "壹": "1", "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6",
    "七": "7", "拐": "7", "柒": "7", "八": "8", "捌": "8", "九": "9", "勾": "9", "玖": "9",
}
_FULL_WIDTH = {**{chr(0xFF10 + i): str(i) for i in range(10)},
               "Ｘ": "X", "ｘ": "x", "＋": "+", "（": "(", "）": ")", "－": "-"}
# Each view maps one character to one character, so positions in it are positions in the text.
_ASCII_VIEW = str.maketrans(_FULL_WIDTH)  # 张三13812345678: the name is not part of the number
_ALL_VIEW = str.maketrans({**_FULL_WIDTH, **_CHINESE_DIGITS})  # 幺三八1234五六七八 (mixed)
_CHINESE_VIEW = str.maketrans({**{str(i): "#" for i in range(10)}, **{k: "#" for k in _FULL_WIDTH},
                               **_CHINESE_DIGITS})  # only runs of Chinese numerals

_S = r"[ \t\u00a0\u3000\-–—.·、，,]{0,2}"  # what may stand between two digits of one number
_CC = r"(?P<cc>\(?(?:\+|00) ?86\)?|86)"  # the country code
_ID = r"[1-9](?:{s}[0-9]){{16}}{s}[0-9Xx]"
_MOBILE = r"(?:{cc}(?P<ccsep>{s}))?(?P<num>1{s}[3-9](?:{s}[0-9]){{9}})"
_LANDLINE = (r"(?:{cc}{s}\(?(?P<area_i>0?[1-9][0-9]{{1,2}})\)?|\(?(?P<area>0[1-9][0-9]{{1,2}})\)?)"
             r"{s}(?P<local>[0-9](?:{s}[0-9]){{6,7}})")


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text)


def _country(m: re.Match[str]) -> str:
    cc = m.group("cc")
    return re.sub(r"[()\s]", "", cc) + " " if cc else ""


def _id(m: re.Match[str]) -> str:
    d = _digits(m.group())
    return d[:3] + "*" * 11 + d[-4:]


def _mobile(m: re.Match[str]) -> str:
    d = _digits(m.group("num"))
    return f"{_country(m)}{d[:3]}****{d[-4:]}"


def _landline(m: re.Match[str]) -> str:
    area, local = _digits(m.group("area") or m.group("area_i")), _digits(m.group("local"))
    return f"{_country(m)}{area}-{'*' * (len(local) - 4)}{local[-4:]}"


def _rules(before: str, after: str) -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    """ID numbers first (18 digits would otherwise show as a mobile and the rest), then mobiles."""
    return [(re.compile(before + p.format(s=_S, cc=_CC) + after), render)
            for p, render in ((_ID, _id), (_MOBILE, _mobile), (_LANDLINE, _landline))]


_STRICT = _rules(r"(?<![0-9A-Za-z+])", r"(?![0-9A-Za-z])")  # not part of a longer number or identifier
_INSIDE = _rules("", "")
_PASSES = ((_ASCII_VIEW, _STRICT), (_ALL_VIEW, _STRICT), (_CHINESE_VIEW, _INSIDE))
_NUMBER_ONLY = re.compile(r"[+(]?[0-9][0-9 ()\-.]*")


def mask_pii(text: str, *, whole: bool = False) -> str:
    """``text`` with every phone number and ID number in it masked. ``whole``: the value is one number
    (a caller id, a contact phone), so a number of a form not listed above (+1 415 555 0134, 95598xxx)
    is masked too, all but its last four digits."""
    if not text or sum(ch.isdigit() or ch in _CHINESE_DIGITS for ch in text) < 5:
        return text
    out = text
    for view, rules in _PASSES:
        for pattern, render in rules:
            pieces, last = [], 0
            for m in pattern.finditer(out.translate(view)):
                pieces += [out[last:m.start()], render(m)]
                last = m.end()
            out = "".join(pieces) + out[last:]
    if whole and out == text:
        flat = text.translate(_ALL_VIEW).strip()
        if _NUMBER_ONLY.fullmatch(flat):
            positions = [i for i, ch in enumerate(flat) if ch.isdigit()]
            hidden = set(positions[:-4] if len(positions) >= 8 else positions[:-2])
            out = "".join("*" if i in hidden else ch for i, ch in enumerate(flat))
    return out
