"""What a resident sees from catalogue search: the right item first for what they are doing, through their
own words, places and filler. Every question here was written for these tests (not taken from the
service dev or locked sets, nor from an item's phrases)."""

from __future__ import annotations

import pytest

from router.adapters.reference_data import load_catalogue
from router.domain.catalogue import Catalogue


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _ids(catalogue: Catalogue, query: str, k: int = 3, district: str | None = None) -> list[str]:
    return [h.item.id for h in catalogue.search(query, k=k, district=district)]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("我想申请深圳的居住证", "sz-jzz-apply"),
        ("身份证怎么办理", "sz-hj-id-first"),
        ("社保卡怎么申领", "sz-sb-card-apply"),
        ("残疾人证去哪里申请", "sz-disab-card-new"),
    ],
)
def test_a_first_application_ranks_above_renewal_and_replacement(catalogue: Catalogue, query: str,
                                                                  first: str) -> None:
    assert _ids(catalogue, query)[:1] == [first]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("居住证快过期了怎么续期", "sz-jzz-renew"),
        ("身份证用了二十年到期了，去哪换", "sz-hj-id-renew"),
        ("驾照有效期满了要换新的", "sz-dl-renew"),
        ("钱包被偷了，身份证也没了，怎么补", "sz-hj-id-lost"),
        ("驾驶证找不到了，怎么补一本", "sz-dl-replace"),
    ],
)
def test_a_renewal_or_replacement_question_ranks_that_item_first(catalogue: Catalogue, query: str,
                                                                 first: str) -> None:
    assert _ids(catalogue, query)[:1] == [first]


@pytest.mark.parametrize(
    ("query", "district", "expected"),
    [
        ("住在龙华区民治街道，外地人想办一张深圳居住证，请问去哪", "龙华区", "sz-jzz-apply"),
        ("你好，我在南山蛇口这边上班，想问一下老年人优待证在哪里办理？谢谢", "南山区", "sz-elder-card"),
        ("麻烦问下，我家在福田区华富街道，今年打算结婚，我们两个去领证要带什么", "福田区", "sz-marriage"),
        ("那个，就是，我想问问，公积金能不能拿来付房租啊", None, "sz-gjj-rent"),
    ],
)
def test_a_question_wrapped_in_place_and_filler_finds_the_item(catalogue: Catalogue, query: str,
                                                               district: str | None, expected: str) -> None:
    assert expected in _ids(catalogue, query, district=district), _ids(catalogue, query, district=district)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("我婆婆七十岁了，听说有敬老卡坐车不要钱，去哪弄", ("sz-elder-card", "sz-senior-transit")),
        ("我爷爷今年八十五，每个月的高龄补助怎么领", ("sz-elder-age-allowance",)),
        ("医保卡丢在出租车上了，怎么重新办一张", ("sz-sb-card-replace",)),
        ("生娃的住院费医保能不能报销", ("sz-yb-maternity-med",)),
        ("家里的狗要办狗证吗", ("sz-dog-license",)),
        ("想去澳门玩，签注用完了怎么再签", ("sz-crj-endorse",)),
        ("我爸退休金这个月没到账", ("sz-pension-query",)),
        ("驾驶本过期了在哪换", ("sz-dl-renew",)),
        ("想给刚满月的闺女上户口，去派出所要带啥", ("sz-hj-birth",)),
    ],
)
def test_everyday_names_find_the_catalogue_item(catalogue: Catalogue, query: str,
                                                expected: tuple[str, ...]) -> None:
    ids = _ids(catalogue, query)
    assert set(ids) & set(expected), ids


def test_a_long_letter_is_read_for_the_sentence_that_asks(catalogue: Catalogue) -> None:
    letter = (
        "我是龙岗布吉的居民，孩子今年九月要上一年级了，我们是非深户，有居住证，也交了社保，"
        "想问小一学位申请什么时候开始报名，在哪个网站填，积分怎么算？"
    )
    assert _ids(catalogue, letter)[:1] == ["sz-school-primary"]
    story = (
        "领导您好，我妈妈今年78岁，户口在老家，跟我住在福田区，她腿脚不方便，平时都是我照顾，"
        "想问问外地户口的老人能不能办深圳的老年人优待证，坐公交地铁能不能免费，需要准备什么材料，谢谢！"
    )
    ids = _ids(catalogue, story * 2)  # 300+ characters
    assert {"sz-elder-card", "sz-senior-transit"} & set(ids), ids


def test_good_hits_score_clearly_above_bad_ones(catalogue: Catalogue) -> None:
    hits = catalogue.search("居住证到期了要续签", k=5)
    assert hits[0].item.id == "sz-jzz-renew" and hits[0].score >= 0.75
    unrelated = [h for h in hits if "居住" not in h.item.name]
    assert all(h.score <= hits[0].score - 0.1 for h in unrelated)
    # a question about something else entirely finds nothing, or nothing usable
    for text in ("周末去哪里爬山好", "这个手机壳多少钱", "帮我查一下明天的航班"):
        assert catalogue.search(text) == [], text
