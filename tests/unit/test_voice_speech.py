"""How the hotline speaks and hears: pure functions, no Redis, no HTTP."""

from __future__ import annotations

import pytest

from router.voice.speech import (
    asks_for_address,
    clean_transcript,
    find_phone,
    is_no,
    is_operator_request,
    is_repeat_request,
    is_yes,
    parse_speech,
    spoken_digits,
    spoken_options,
    ssml,
    to_speech,
)


def test_mobile_numbers_are_read_digit_by_digit_in_3_4_4_groups_with_yao_for_one():
    assert spoken_digits("13800138000") == "幺三八，零零幺三，八零零零"


def test_landlines_keep_their_area_code_group():
    assert spoken_digits("0755-83001234") == "零七五五，八三零零幺二三四"


def test_screen_reply_becomes_speech_without_links_emoji_or_bullets():
    text = "已登记工单SZ20261125-000123 👍\n- 电话：13800138000\n- 详情见 https://a.example/x?y=1\n紧急请拨110。"
    spoken = to_speech(text)
    assert "http" not in spoken and "👍" not in spoken and "-" not in spoken
    assert "S Z，二零二六，幺幺二五，零零零幺二三" in spoken
    assert "幺三八，零零幺三，八零零零" in spoken
    assert spoken.endswith("紧急请拨幺幺零。")
    assert "\n" not in spoken


def test_short_quantities_stay_numbers():
    assert to_speech("7个工作日内办结，第3号窗口") == "7个工作日内办结，第3号窗口"


def test_buttons_become_a_spoken_menu_with_keys():
    assert spoken_options(["查询进度", "转人工"]) == "您可以说“查询进度”，或者按1；说“转人工”，或者按2。"
    assert spoken_options([]) == ""


def test_ssml_slows_down_escapes_and_pauses_between_sentences():
    out = ssml("您好。请说<地址>&门牌。", "slow")
    assert out == ('<speak><prosody rate="slow">您好。<break time="300ms"/>请说&lt;地址&gt;&amp;门牌。'
                   '</prosody></speak>')
    assert ssml("您好。", "") == "您好。"  # engines without SSML get plain text


def test_webhook_and_websocket_speech_shapes_give_the_same_transcript():
    webhook = {"alternatives": [{"confidence": 0.8, "transcript": "路灯坏了"}]}
    websocket = {"transcripts": [{"is_final": True, "alternatives": [{"confidence": 0.8, "transcript": "路灯坏了"}]}]}
    for speech in (webhook, websocket):
        heard = parse_speech(speech)
        assert heard is not None and (heard.text, heard.confidence) == ("路灯坏了", 0.8)


def test_missing_or_empty_speech_is_nothing_heard():
    assert parse_speech(None) is None
    assert parse_speech({"alternatives": [{"transcript": "  "}]}) is None
    assert parse_speech({"alternatives": [{"transcript": "好"}]}).confidence is None


def test_asr_text_is_normalised_and_hesitations_dropped():
    assert clean_transcript("嗯，那个，我的電話是幺三八零零幺三八零零零。") == "我的电话是13800138000"


@pytest.mark.parametrize("text", ["转人工", "我要人工服务", "帮我转人工吧", "找接线员"])
def test_operator_requests(text):
    assert is_operator_request(text)


def test_a_long_complaint_mentioning_a_person_is_not_a_transfer_request():
    assert not is_operator_request("小区门口有个真人大小的广告牌被风吹倒了压到了路边的车")


@pytest.mark.parametrize("text", ["再说一遍", "没听清", "你说什么？"])
def test_repeat_requests(text):
    assert is_repeat_request(text)


def test_a_complaint_about_not_hearing_is_not_a_repeat_request():
    assert not is_repeat_request("我没听清他们说什么就被罚款了这不合理")


def test_yes_and_no():
    assert is_yes("对的") and is_yes("是的，没错") and is_yes("嗯")
    assert not is_yes("不是") and is_no("不是") and is_no("不对，重说")
    assert not is_no("对")


def test_phone_numbers_in_caller_text():
    assert find_phone("电话13800138000谢谢") == "13800138000"
    assert find_phone("座机0755-83001234") == "0755-83001234"
    assert find_phone("工单SZ20261125-000123") is None


def test_address_questions():
    assert asks_for_address("请问具体地址在哪里？")
    assert not asks_for_address("请问您的联系电话？")


def test_declining_an_address_question_is_not_an_address() -> None:
    from router.voice.speech import is_skip

    assert is_skip("跳过") and is_skip("这个不清楚") and is_skip("说不清")
    assert not is_skip("南山区粤海街道科技园社区")
