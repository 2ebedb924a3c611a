"""router.domain.answers: the everyday short answers residents give to a form's question."""

import pytest

from router.domain.answers import kind_of


@pytest.mark.parametrize(("text", "kind"), [
    ("不用了", "decline"), ("不方便", "decline"), ("算了", "decline"), ("不用了谢谢", "decline"),
    ("没有", "decline"), ("唔使喇", "decline"), ("嗯，不留了", "decline"),
    ("就这个号", "same_number"), ("就用这个号码吧", "same_number"), ("用我打来的这个号", "same_number"),
    ("可以", "agree"), ("好的", "agree"), ("嗯，可以", "agree"), ("係", "agree"),
])
def test_everyday_answers_are_recognised(text: str, kind: str) -> None:
    assert kind_of(text) == kind


@pytest.mark.parametrize("text", ["我不想活了", "我要投诉楼下的噪音", "南山区粤海街道", "13812345678", "", "   "])
def test_other_messages_are_not_everyday_answers(text: str) -> None:
    assert kind_of(text) == ""


def test_a_reply_that_starts_a_button_title_is_that_button() -> None:
    assert kind_of("算了", {"stop": "算了，不办了"}) == "button:stop"
    assert kind_of("算了", {"skip": "跳过"}) == "decline"
