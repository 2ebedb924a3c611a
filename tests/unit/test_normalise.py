"""router.domain.normalise: what the tokenizer, regexes and detectors see of a resident's message."""

import pytest

from router.domain.normalise import (
    chinese_numeral_to_int,
    normalise,
    normalise_with_spans,
    spoken_digits_to_arabic,
    ticket_ids,
    to_simplified,
)


def test_traditional_characters_become_simplified() -> None:
    assert normalise("請問社保卡怎麼補辦") == "请问社保卡怎么补办"
    assert to_simplified("電梯壞了") == "电梯坏了"


def test_full_width_letters_digits_and_punctuation_become_half_width() -> None:
    assert normalise("ＡＰＰ登不上１２３") == "APP登不上123"
    assert normalise("电话：１３８００１３８０００") == "电话:13800138000"


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("我的电话是幺三八零零幺三八零零零", "我的电话是13800138000"),
        ("区号零七五五", "区号0755"),  # leading zero kept
        ("幺三八 零零幺三 八零零零", "13800138000"),  # ASR groups
        ("一三九 一二三四 五六七八", "13912345678"),
        ("打幺幺零", "打110"),
    ],
)
def test_phone_numbers_read_digit_by_digit_become_digits(spoken: str, written: str) -> None:
    assert normalise(spoken) == written


def test_house_numbers_said_with_tens_and_hundreds_become_digits() -> None:
    assert normalise("我住在三十五号楼一百零二室") == "我住在35号楼102室"
    assert normalise("十二栋三单元") == "12栋3单元"


def test_quantities_and_words_stay_words() -> None:
    # Two spoken digits are a quantity ("three to five days"), not a number read out.
    assert normalise("三五天了还没修") == "三五天了还没修"
    assert normalise("一个老人晕倒了") == "一个老人晕倒了"
    assert normalise("楼上装修") == "楼上装修"


def test_ticket_ids_are_repaired_to_the_canonical_form() -> None:
    assert normalise("查一下 sz20261125 000123") == "查一下SZ20261125-000123"
    assert normalise("工单SZ二零二六一一二五零零零一二三") == "工单SZ20261125-000123"
    assert normalise("SZ20261125-000123") == "SZ20261125-000123"


def test_whitespace_between_chinese_is_removed_but_english_words_keep_their_space() -> None:
    assert normalise("  路灯  坏了 ") == "路灯坏了"
    assert normalise("the APP cannot login") == "the APP cannot login"


def test_repeated_emoji_and_punctuation_collapse_but_emoji_meaning_stays() -> None:
    assert normalise("太吵了！！！😡😡😡") == "太吵了!😡"
    assert "🔥" in normalise("🔥🔥着火了")


def test_normalise_is_idempotent() -> None:
    for text in ["請問社保卡怎麼補辦", "幺三八零零幺三八零零零", "sz20261125 000123", "路灯 坏了😡😡"]:
        once = normalise(text)
        assert normalise(once) == once


def test_numeral_values() -> None:
    assert chinese_numeral_to_int("三十五") == 35
    assert chinese_numeral_to_int("十二") == 12
    assert chinese_numeral_to_int("一百零二") == 102
    assert chinese_numeral_to_int("两千") == 2000
    assert spoken_digits_to_arabic("二十一号") == "21号"
    with pytest.raises(ValueError):
        chinese_numeral_to_int("三个")


def test_non_text_is_a_clear_error() -> None:
    with pytest.raises(TypeError):
        normalise(None)  # type: ignore[arg-type]


def test_annotated_spans_move_with_the_normalised_text() -> None:
    text = "電話是幺三八零零幺三八零零零，住南山區"
    new_text, spans = normalise_with_spans(text, [(3, 14), (16, 19)])
    assert new_text == "电话是13800138000,住南山区"
    assert [new_text[s:e] for s, e in spans] == ["13800138000", "南山区"]


def test_overlapping_spans_are_refused() -> None:
    with pytest.raises(ValueError):
        normalise_with_spans("南山区粤海街道", [(0, 3), (2, 5)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # As the speech recogniser writes a ticket id read out in groups.
        ("工单号码是 S Z 二零二六一零零九 零零零零五二", "工单号码是SZ20261009-000052"),
        ("s z 二零二六 一零零九 零零零零 五二 进度", "SZ20261009-000052进度"),
        ("SZ二零二六一零零九杠零零零零五二", "SZ20261009-000052"),  # a spoken dash after the date
        ("单号 S Z 2026 1009 0000 52", "单号SZ20261009-000052"),
        ("SZ二零二六一零零九零零零零五二一下", "SZ20261009-000052一下"),  # "一下" is a word, not a digit
    ],
)
def test_spoken_ticket_ids_become_canonical(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "SZ二零二六一零零九零零零零五",  # 13 digits: not a ticket id
        "sz 20261009 0000521",  # 15 digits: where does it end?
        "SZ二零二六杠一零零九零零零零五二",  # a dash inside the date
    ],
)
def test_ticket_ids_that_cannot_be_read_safely_are_not_invented(text: str) -> None:
    assert ticket_ids(text) == []


def test_ticket_ids_are_found_in_raw_text_once_each() -> None:
    assert ticket_ids("查 S Z 二零二六一零零九 零零零零五二，还有SZ20261010-000001，SZ20261010-000001") == [
        "SZ20261009-000052", "SZ20261010-000001"]
