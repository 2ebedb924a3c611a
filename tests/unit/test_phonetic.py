"""router.domain.phonetic: safety words a speech recogniser wrote as homophones are put back."""

import time

import pytest

from router.domain.emergency import detect
from router.domain.phonetic import repair


@pytest.mark.parametrize(("heard", "number"), [
    ("楼下着活好大的烟下不去了", "119"),   # 着火 heard as 着活
    ("就命啊 有人晕到了", "120"),          # 救命 / 晕倒
    ("我家有一股煤汽味", "119"),           # 煤气味
    ("他在门口说要弄思你", "110"),         # 弄死你
    ("公园有个大哥到了 护士在给他做新肺腹肃", "120"),   # 心肺复苏 (safety_dev17's phone line, said again here)
    ("我孙女两岁把她奶奶的酱鸭要吃了", "120"),          # 降压药
    ("街口有个男人岭住刀喺度展人", "110"),              # 拎住刀, 斩人 (residents_dev17's phone line, said again here)
    ("水库里有个人一直没扶上来", "119"),                # 没浮上来
    ("等一下 楼下好像有烟网上冒", "119"),               # 烟往上冒
])
def test_a_garbled_emergency_is_an_emergency_after_repair(heard: str, number: str) -> None:
    assert detect(heard) is None or detect(heard).number == number  # type: ignore[union-attr]
    found = detect(repair(heard).text)
    assert found is not None and found.number == number


@pytest.mark.parametrize("text", ["期货今天涨了", "或在家里吃饭", "社保卡丢了怎么补办", "我想问一下居住证", "",
                                  # 说 read as "shui" and 你睡 both sounded like 溺水: a caller's every "你说"
                                  "喂我听不懂你说的那个机器说话我要找个真人", "你睡了吗", "我跟你说那个",
                                  # a written character stands for its usual sound, not its rare one
                                  # (园 "wan", 但 "tan", 踹 "shuan")
                                  "网隔园上报宝安新安街道", "现在没再烧但希望城管管一管", "积分怎么算门",
                                  # "请生态环境部门" and a street's "前阶" heard as 轻生 and 抢劫 (residents_dev18's phone line)
                                  "怀疑偷排请生泰环境部门查处", "光明区前阶到某小区门口占道"])
def test_everyday_words_that_sound_alike_are_left_alone(text: str) -> None:
    assert repair(text).text == text
    assert not repair(text).fixes


def test_repair_keeps_the_rest_of_the_text_and_its_length() -> None:
    text = "楼下着活了 " + "我在南山区粤海街道" * 100
    fixed = repair(text)
    assert len(fixed.text) == len(text) and fixed.text.startswith("楼下着火了")


def test_repair_is_bounded_on_any_input() -> None:
    start = time.process_time()
    for text in ("救" * 2000, "着活" * 1000, "🔥" * 2000, "a b " * 1000):
        repair(text)
    assert time.process_time() - start < 2.0  # generous: a stall would take minutes


@pytest.mark.parametrize(("heard", "number", "crisis"), [
    ("门底下在贸烟外面好呛", "119", False),                 # 在冒烟 written with other characters
    ("有时候觉得我们都不在了就轻静了", "110", True),         # 不在了就清净
])
def test_smoke_under_a_door_and_a_wish_to_be_gone_heard_wrong_still_count(heard: str, number: str,
                                                                         crisis: bool) -> None:
    found = detect(repair(heard).text)
    assert found is not None and found.number == number and found.is_crisis == crisis, repair(heard)


def test_alive_written_with_the_old_character_is_not_heard_as_fire() -> None:
    text = "我活著没意思了 已经坐在窗台上了"   # 活著 sounds like 火烛 (residents_dev17's phone line)
    assert repair(text).text == text
    found = detect(text)
    assert found is not None and found.is_crisis
