"""Names residents give for themselves: found after a cue, never made up from a place or a word.

The examples were written with the rules (same author); the held-out measure is the person_name row
of bench/results/nlu.md, on tests/nlu/test_nlu.yml.
"""

from __future__ import annotations

import pytest

from router.domain.names import find_person_name

NAMED = {"我叫李明": "李明", "我是张阿姨": "张阿姨", "我叫陈小燕": "陈小燕", "名字是欧阳明": "欧阳明", "联系人邓先生": "邓先生",
 "叫我老周就可以": "老周", "我是林伯，住在南山区": "林伯", "我姓钟": "钟", "我叫郭志伟，手机13700001111": "郭志伟",
 "我是王老师": "王老师", "我叫王建国": "王建国", "叫我张师傅": "张师傅", "我姓王，叫我王先生就行": "王先生",
 "联系人写吴敏": "吴敏", "我的名字是杨丽": "杨丽", "我是陈先生": "陈先生", "我是小王": "小王", "我是李工": "李工",
 "免贵姓黄": "黄", "我是老王，楼下又在装修": "老王", "你好我是刘女士，我要投诉": "刘女士", "我叫林小红，电话13600001234": "林小红",
 "本人姓赵": "赵", "我叫李明先生": "李明"}
NO_NAME = ["我是南山区的", "我是高新园业主", "我是租户", "我是业主", "我是龙华的", "我是老师", "我是小区的业主", "我是深圳人",
 "叫我怎么办", "我是住在西乡的", "我是罗湖", "我叫了好几次都没人来", "我是沙井的居民", "名字是什么", "我是在问你",
 "我是说路灯坏了", "我是来投诉的", "我是问社保的", "我是和平社区的", "本人住在福田", "我叫救护车", "我是真的生气",
 "我是老人家", "我是阿姨的邻居", "联系人电话13800001111", "我姓什么不重要", "我是一个老人", "我是残疾人"]


@pytest.mark.parametrize(("text", "name"), sorted(NAMED.items()))
def test_a_resident_naming_themselves_is_understood(text: str, name: str) -> None:
    found = find_person_name(text)
    assert found is not None and found.value == name
    assert text[found.start : found.end] == name


@pytest.mark.parametrize("text", NO_NAME)
def test_places_roles_and_ordinary_words_are_not_names(text: str) -> None:
    assert find_person_name(text) is None
