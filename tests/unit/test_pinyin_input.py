"""Messages typed in pinyin are read as the characters they stand for (router.adapters.pinyin_input)."""

from __future__ import annotations

import pytest

from router.adapters.pinyin_input import looks_like_pinyin, to_hanzi


@pytest.mark.parametrize(("typed", "read"), [
    ("qing wen ju zhu zheng di yi ci ban yao dai shen me", "请问居住证第一次办要带什么"),
    ("wo shang ge yue ti jiao de gong dan zen me hai mei ren chu li", "我上个月提交的工单怎么还没人处理"),
    ("lou xia zhao huo le", "楼下着火了"),
    ("wo yao zhuan ren gong", "我要转人工"),
    ("juzhuzheng zenme ban", "居住证怎么办"),                 # syllables run together
    ("Lou Shang Tian Tian Ban Ye Zhuang Xiu", "楼上天天半夜装修"),  # capitals
    ("wo bu xiang huo le", "我不想活了"),                      # a crisis typed in pinyin is still read
])
def test_pinyin_is_read_as_characters(typed: str, read: str) -> None:
    assert to_hanzi(typed) == read


@pytest.mark.parametrize("text", [
    "I don't think he's breathing, please help",
    "The sidewalk near Coastal City has been dug up for weeks",
    "Can you help me",
    "楼下着火了",
    "ni hao",                       # too short to tell: the greeting cues read it as it is
    "SZ20261118-000457",
    "",
    "😀😀😀",
])
def test_english_chinese_and_short_text_are_left_as_they_are(text: str) -> None:
    assert not looks_like_pinyin(text)
    assert to_hanzi(text) == text
