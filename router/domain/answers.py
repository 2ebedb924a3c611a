"""Everyday answers to a question the bot asked: "不用了", "不方便", "算了", "就这个号", "可以".

A form question offers its ways out as buttons ("跳过" → /skip, on the phone "可以" → /affirm); a
resident rarely says the button's word. ``kind_of`` says which everyday answer a short reply is, and the
intake decision (router.domain.intake) maps it to the button that was offered, so "算了" at the phone
question skips the phone instead of dropping the whole report.

Pure: standard library only (the bot runtime imports it too).
"""

from __future__ import annotations

import re

__all__ = ["kind_of", "DECLINE", "SAME_NUMBER", "AGREE", "MAX_ANSWER_CHARS"]

DECLINE = "decline"
SAME_NUMBER = "same_number"
AGREE = "agree"
# An answer to a question is short; a longer message is something new.
MAX_ANSWER_CHARS = 16

_FILLER = re.compile(r"[\s，,。.!！?？~～…、]+|^(?:嗯+|啊+|呃+|哦+|喂+|那个|就是说?)|(?:吧|啊|呀|哈|啦|嘛|了吧)$")
_DECLINE = re.compile(
    "^(?:不用(?:了|留)?|不用留(?:了)?|不必(?:了)?|不需要(?:了)?|不要(?:了)?|不留(?:了)?|不想留|不方便(?:留|说)?|算了|"
    "免了|没有|没(?:有)?手机|没电话|不给|不想给|不告诉你|跳过|下一个|先不留|不了|唔使(?:喇)?|唔要|唔方便|冇(?:电话|手机)?)"
    "(?:了|吧|啦|喇)?(?:谢谢|多谢)?$")
_SAME_NUMBER = re.compile(
    "(?:就|用|留)?(?:这个|这|现在|本|打来的这?个?|来电的?)(?:号码?|电话|手机)(?:就行|就可以|吧|号码)?|本机|来电号码|打来的号|"
    "用我打(?:来|进来)的|就打这个")
_AGREE = re.compile("^(?:可以|行|好|好的|对|是|是的|没问题|嗯+|OK|ok|得|得嘅|係|冇问题|可以的|就这样)(?:的|吧|啊|呀|啦)?$")


def kind_of(text: str, titles: dict[str, str] | None = None) -> str:
    """decline | same_number | agree | "button:<intent>" | "" for an everyday short answer (text as
    normalised). ``titles``: intent → title of the buttons just offered; a reply that is the start of a
    title ("算了" for "算了，不办了") is that button."""
    if not isinstance(text, str):
        return ""
    bare = _FILLER.sub("", text.strip())
    bare = _FILLER.sub("", bare)
    if not bare or len(bare) > MAX_ANSWER_CHARS:
        return ""
    for intent, title in (titles or {}).items():
        plain = _FILLER.sub("", title)
        if len(bare) >= 2 and plain.startswith(bare):
            return f"button:{intent}"
    if _SAME_NUMBER.search(bare):
        return SAME_NUMBER
    if _DECLINE.match(bare):
        return DECLINE
    if _AGREE.match(bare):
        return AGREE
    return ""
