"""router.domain.emergency: who must be called now, and what is only a complaint or a question."""

import pytest

from router.domain.emergency import detect


@pytest.mark.parametrize(
    ("text", "number", "kind"),
    [
        ("楼下着火了", "119", "fire"),
        ("對面樓著火了", "119", "fire"),  # traditional characters
        ("楼道里全是浓烟，出不去了", "119", "smoke"),
        ("家里闻到很浓的煤气味", "119", "gas"),
        ("好像燃气泄漏了", "119", "gas"),
        ("有人被困在电梯里了，喊救命", "119", "trapped"),
        ("电梯困人了里面有小孩在哭", "119", "trapped"),
        ("我爸晕倒了叫不醒", "120", "medical"),
        ("我妈没有呼吸了", "120", "medical"),
        ("有人倒在地上不动了", "120", "medical"),
        ("老人心脏病发作了", "120", "medical"),
        ("楼下有人拿刀砍人", "110", "violence"),
        ("我老公在打我", "110", "violence"),
        ("有人正在撬门", "110", "violence"),
        ("有小孩掉河里了", "110", "drowning"),
        ("有人溺水了", "110", "drowning"),
        ("我家孩子找不到了", "110", "missing"),
        ("救命啊", "110", "call"),
        ("快打幺幺九", "119", "call"),  # spoken number, as the voice gateway writes it
    ],
)
def test_emergencies_name_the_number_to_call(text: str, number: str, kind: str) -> None:
    found = detect(text)
    assert found is not None, text
    assert found.number == number
    assert found.kind == kind
    assert not found.is_crisis
    assert found.matched


@pytest.mark.parametrize("text", ["我不想活了", "我想自杀", "活着没意思，想一了百了", "我已经割腕了", "我想死😭", "我想自殺"])
def test_suicide_and_self_harm_are_a_crisis(text: str) -> None:
    found = detect(text)
    assert found is not None
    assert found.is_crisis
    assert found.kind == "self_harm"


def test_crisis_wins_over_other_words_and_is_never_explained_away() -> None:
    found = detect("上次投诉没人管，我真的不想活了")
    assert found is not None and found.is_crisis


@pytest.mark.parametrize(
    "text",
    [
        "120上周来得太慢了",  # a complaint about an earlier call-out
        "上次着火消防来得太晚了，我要投诉",
        "救护车收费太贵了，我要投诉",
        "怎么办理消防安全检查",  # a service question
        "怎么办消防安全检查",
        "电梯坏了好几天了",  # a ticket
        "电梯老是困人，物业不管",
        "楼下餐馆油烟很大",  # cooking fumes
        "没有着火，就是有点焦味",
        "你们打我电话吧",
        "帮我跟踪一下工单进度",
        "我妈的社保卡不见了",
        "煤气费怎么交",
        "路灯坏了",
        "",
    ],
)
def test_complaints_questions_and_faults_are_not_emergencies(text: str) -> None:
    assert detect(text) is None


def test_entity_type_matches_the_number() -> None:
    assert detect("着火了").service == "fire"  # type: ignore[union-attr]
    assert detect("有人晕倒了").service == "medical"  # type: ignore[union-attr]
    assert detect("有人打架").service == "police"  # type: ignore[union-attr]


def test_non_text_is_a_clear_error() -> None:
    with pytest.raises(TypeError):
        detect(b"fire")  # type: ignore[arg-type]
