"""The service catalogue answers residents' own questions with the right item, and nothing for chit-chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from router.adapters.reference_data import load_catalogue, read_items
from router.domain.catalogue import (
    Catalogue,
    CatalogueError,
    Hall,
    ServiceItem,
    is_resident_relevant,
)

# Hand-written resident questions (not copied from any item's phrases; a test below checks that) and the
# item(s) a good answer starts from. Shared with bench/catalogue_bench.py.
RESIDENT_QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("我想办个居住证要什么材料", ("sz-jzz-apply",)),
    ("社宝断了怎么补交", ("sz-sb-arrears",)),
    ("老人卡在哪里办", ("sz-elder-card",)),
    ("孩子上小学怎么申请学位", ("sz-school-primary",)),
    ("公积金怎么提取出来租房", ("sz-gjj-rent",)),
    ("办身份证要带什么", ("sz-hj-id-first", "sz-hj-id-renew")),
    ("身份证过几天就到期了去哪换", ("sz-hj-id-renew",)),
    ("我的身份证不小心弄丢了", ("sz-hj-id-lost",)),
    ("宝宝刚出生怎么上户口", ("sz-hj-birth",)),
    ("我爸妈想把户口迁到深圳来", ("sz-hj-parent",)),
    ("外地交的社保能转到深圳吗", ("sz-sb-transfer-in",)),
    ("社保卡不见了要去银行补吗", ("sz-sb-card-replace",)),
    ("医保卡被锁住了怎么解锁", ("sz-sb-card-activate",)),
    ("回老家住院医保能报吗", ("sz-yb-remote",)),
    ("我妈八十多岁了有没有高龄补贴", ("sz-elder-age-allowance",)),
    ("附近有没有给老人吃饭的长者饭堂", ("sz-elder-meal",)),
    ("我儿子智力残疾想办个残疾人证", ("sz-disab-card-new",)),
    ("家里困难想申请低保", ("sz-dibao",)),
    ("家里突然出了变故揭不开锅有什么救助", ("sz-temp-relief", "sz-dibao")),
    ("买房子能用公积金贷款吗", ("sz-gjj-loan",)),
    ("想开个小卖部怎么办营业执照", ("sz-gth-register",)),
    ("新房的不动产权证怎么办", ("sz-bdc-new",)),
    ("二手房买卖过户要什么", ("sz-bdc-second",)),
    ("非深户孩子读一年级要积分吗", ("sz-school-primary",)),
    ("港澳通行证过期了在哪里换", ("sz-crj-hkmo",)),
    ("去香港的签注怎么续", ("sz-crj-endorse",)),
    ("第一次出国护照怎么办", ("sz-crj-passport",)),
    ("驾驶证丢了补办", ("sz-dl-replace",)),
    ("结婚登记需要带户口本吗", ("sz-marriage",)),
    ("到年纪了怎么办退休手续", ("sz-retire-apply",)),
    ("被公司辞退了能领失业金吗", ("sz-unemp-benefit",)),
    ("深圳积分入户的条件是什么", ("sz-rh-points",)),
    ("本科学历能直接落户深圳吗", ("sz-rh-talent",)),
    ("租的房子合同要去备案吗", ("sz-rent-record",)),
    ("电动车怎么上牌照", ("sz-ebike",)),
    ("垃圾分类有哪几类", ("sz-garbage-sort",)),
    ("新家的燃气怎么开通", ("sz-gas-open",)),
    ("买了房子电费户名怎么改", ("sz-power-open",)),
    ("生二胎要不要办生育登记", ("sz-birth-register",)),
    ("生完孩子的生育津贴怎么领", ("sz-birth-allowance",)),
    ("退休人员每年的养老金认证怎么做", ("sz-pension-cert",)),
    ("公司拖欠我三个月工资", ("sz-wage-complaint",)),
    ("老人想住公办养老院怎么排队", ("sz-elder-home-admit",)),
    ("结婚证弄丢了能补吗", ("sz-marriage-replace",)),
    ("灵活就业的人怎么自己买社保", ("sz-sb-flex-enrol",)),
    ("小孩的医保在哪交", ("sz-yb-child",)),
    ("需要开一份无犯罪记录证明", ("sz-hj-no-crime",)),
    ("我想申请公租房", ("sz-public-rent",)),
    ("怎么查我名下有几套房", ("sz-bdc-query",)),
    ("个税怎么退税", ("sz-tax-annual",)),
    ("考驾照在哪里报名", ("sz-dl-exam",)),
    ("小孩打疫苗的本子丢了", ("sz-vaccination",)),
    ("老公是深户我能随迁入户吗", ("sz-hj-spouse",)),
    ("离职了公积金能全部取出来吗", ("sz-gjj-leave",)),
    ("残疾证到期了要换新的", ("sz-disab-card-change",)),
    ("旧沙发不要了怎么处理", ("sz-bulky-waste",)),
]

IRRELEVANT = [
    "今天天气怎么样",
    "楼上装修太吵",
    "给我讲个笑话",
    "明天会下雨吗",
    "帮我订一张去北京的机票",
    "放一首周杰伦的歌",
    "红烧肉怎么做",
    "股票今天涨了吗",
    "你叫什么名字",
    "你好",
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def top3_accuracy(catalogue: Catalogue) -> tuple[float, list[str]]:
    misses = []
    for question, expected in RESIDENT_QUESTIONS:
        ids = [h.item.id for h in catalogue.search(question, k=3)]
        if not set(ids) & set(expected):
            misses.append(f"{question} -> {ids} (want {expected})")
    return 1 - len(misses) / len(RESIDENT_QUESTIONS), misses


def test_questions_are_not_copied_from_phrases(catalogue: Catalogue) -> None:
    phrases = {p for item in catalogue for p in item.phrases} | {item.name for item in catalogue}
    assert len(RESIDENT_QUESTIONS) >= 40
    assert not [q for q, _ in RESIDENT_QUESTIONS if q in phrases]
    for _, expected in RESIDENT_QUESTIONS:
        for item_id in expected:
            assert catalogue.get(item_id) is not None, item_id


def test_resident_questions_find_the_item_in_top3(catalogue: Catalogue) -> None:
    accuracy, misses = top3_accuracy(catalogue)
    print(f"\ntop-3 accuracy {accuracy:.3f} on {len(RESIDENT_QUESTIONS)} questions; misses: {misses}")
    assert accuracy >= 0.9, misses


def test_everyday_question_prefers_the_authored_shenzhen_item(catalogue: Catalogue) -> None:
    hits = catalogue.search("我要办港澳通行证")
    assert hits[0].item.id == "sz-crj-hkmo"
    assert any(not h.item.authored for h in catalogue.search("港澳通行证进度查询", k=5))
    hits = catalogue.search("残疾人证怎么挂失补办", k=5)
    assert hits[0].item.authored


@pytest.mark.parametrize("query", IRRELEVANT)
def test_irrelevant_questions_return_nothing(catalogue: Catalogue, query: str) -> None:
    assert catalogue.search(query) == []


def test_scores_are_normalised_and_ordered(catalogue: Catalogue) -> None:
    hits = catalogue.search("公积金提取", k=10)
    assert len(hits) >= 3
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score >= catalogue.min_score for h in hits)
    assert len(catalogue.search("公积金提取", k=2)) == 2


@pytest.mark.parametrize(
    ("variant", "canonical_query", "item_id"),
    [
        ("社宝卡丢了", "社保卡丢了", "sz-sb-card-replace"),
        ("身分证到期", "身份证到期", "sz-hj-id-renew"),
        ("老人卡怎么申请", "老年人优待证怎么申请", "sz-elder-card"),
        ("想取公积金交房租", "提取公积金交房租", "sz-gjj-rent"),
        ("暂住证怎么办", "居住证怎么办", "sz-jzz-apply"),
        ("电瓶车上牌", "电动自行车上牌", "sz-ebike"),
    ],
)
def test_synonyms_meet_the_canonical_words(
    catalogue: Catalogue, variant: str, canonical_query: str, item_id: str
) -> None:
    assert catalogue.tokens(variant) == catalogue.tokens(canonical_query)
    assert item_id in [h.item.id for h in catalogue.search(variant)]


def test_traditional_and_full_width_input(catalogue: Catalogue) -> None:
    traditional, simplified = "我想辦理居住證", "我想办理居住证"
    assert catalogue.tokens(traditional) == catalogue.tokens(simplified)
    assert catalogue.search(traditional) == catalogue.search(simplified)
    assert "sz-jzz-apply" in [h.item.id for h in catalogue.search(traditional)]
    assert "sz-hj-book" in [h.item.id for h in catalogue.search("戶口本丟了怎麼補辦")]
    assert catalogue.search("身份证　到期（换证）")[0].item.id == "sz-hj-id-renew"
    assert catalogue.tokens("ＡＢＣ社保") == catalogue.tokens("abc社保")


def test_bad_input_is_rejected(catalogue: Catalogue) -> None:
    with pytest.raises(TypeError):
        catalogue.search(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        catalogue.search("社保", k=0)
    assert catalogue.search("") == []
    assert catalogue.search("？？！！") == []


def test_counts_and_sources(catalogue: Catalogue) -> None:
    counts = catalogue.counts_by_source()
    assert counts["authored"] >= 150
    assert counts["gdzwfw-2021"] >= 150
    assert len(catalogue) == sum(counts.values()) >= 300
    # Imported items are distinct services: no name+department twice.
    keys = [(i.name, i.department) for i in catalogue]
    assert len(keys) == len(set(keys))
    # Guangzhou city windows are no use to a Shenzhen resident.
    assert not [i for i in catalogue if i.department.startswith("广州市")]


def test_item_api(catalogue: Catalogue) -> None:
    item = catalogue.get("sz-jzz-apply")
    assert item is not None
    assert item.to_summary() == {"id": "sz-jzz-apply", "name": item.name, "department": "深圳市公安局"}
    data = item.to_dict()
    assert isinstance(data["materials"], list) and "居民身份证" in data["materials"]
    assert json.loads(json.dumps(data, ensure_ascii=False))["phrases"] == list(item.phrases)
    assert catalogue.get("no-such-item") is None
    for it in catalogue:
        if it.authored:
            assert it.fee and it.time_limit and it.materials and it.phrases and it.conditions, it.id


def test_where_to_apply_names_this_residents_hall(catalogue: Catalogue) -> None:
    arrears = catalogue.get("sz-sb-arrears")  # handled at the district hall
    assert arrears is not None and arrears.handled_at == "district_hall"
    assert "南山区行政服务大厅" in catalogue.where_to_apply(arrears, district="南山区")
    assert "宝安区行政服务大厅" in catalogue.where_to_apply(arrears, district="宝安")
    assert "区的行政服务大厅" in catalogue.where_to_apply(arrears)

    dibao = catalogue.get("sz-dibao")  # street hall
    assert dibao is not None and dibao.handled_at == "street_hall"
    assert "粤海街道党群服务中心" in catalogue.where_to_apply(dibao, district="南山区", street="粤海街道")
    assert "布吉街道" in catalogue.where_to_apply(dibao, district="龙岗区", street="布吉街道")
    assert "龙岗区" in catalogue.where_to_apply(dibao, district="龙岗区")

    meal = catalogue.where_to_apply("sz-elder-meal", district="福田区", street="华强北街道")
    assert "华强北街道" in meal and "社区" in meal

    online = catalogue.where_to_apply("sz-jzz-renew", district="南山区")
    assert "i深圳" in online and "南山区" not in online

    window = catalogue.where_to_apply("sz-hj-birth", district="南山区")
    assert "派出所" in window

    imported = next(i for i in catalogue if not i.authored and i.online)
    assert "广东政务服务网" in catalogue.where_to_apply(imported, district="南山区")
    with pytest.raises(KeyError):
        catalogue.where_to_apply("no-such-item")


def test_district_filter_for_city_items(tmp_path: Path) -> None:
    csv_path = tmp_path / "city.csv"
    csv_path.write_text(
        "id,name,department,handled_at,window,online,materials,phrases,districts,fee,time_limit\n"
        "ns-1,南山区人才安居补贴申领,南山区人力资源局,district_hall,,i深圳 App,身份证|学历证书,人才补贴南山,南山区,免费,20个工作日\n",
        encoding="utf-8",
    )
    cat = load_catalogue(imported_sources=[], extra_sources=[csv_path])
    assert cat.get("ns-1") is not None and cat.get("ns-1").materials == ("身份证", "学历证书")  # type: ignore[union-attr]
    assert cat.get("ns-1").source == "city"  # type: ignore[union-attr]
    assert "ns-1" in [h.item.id for h in cat.search("南山区人才安居补贴", district="南山")]
    assert "ns-1" not in [h.item.id for h in cat.search("南山区人才安居补贴", district="福田区")]


def test_loader_rejects_bad_sources(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": "x", "name": "某事项", "department": "某局", "handled_at": "moon"}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match="handled_at"):
        read_items(bad)
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"id": "x", "name": "", "department": "某局"}) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="name"):
        read_items(missing)
    with pytest.raises(CatalogueError, match="not found"):
        read_items(tmp_path / "nope.csv")
    with pytest.raises(CatalogueError, match="format"):
        (tmp_path / "x.xml").write_text("<x/>", encoding="utf-8")
        read_items(tmp_path / "x.xml")
    item = ServiceItem(id="a", name="甲", department="乙")
    with pytest.raises(CatalogueError, match="duplicate"):
        Catalogue([item, item])


def test_scrape_filter_keeps_resident_items() -> None:
    base = {
        "service_object": ["自然人"],
        "level": "省级",
        "theme_category": ["出境入境"],
        "department": "广东省公安厅",
    }
    assert is_resident_relevant({**base, "name": "换发普通护照办证进度查询"})
    assert not is_resident_relevant({**base, "name": "弩的购置审批"})
    assert not is_resident_relevant(
        {**base, "name": "办理往来港澳通行证", "level": "市级", "area_code": "440100"}
    )
    assert not is_resident_relevant(
        {**base, "theme_category": ["文化体育"], "department": "广东省文化和旅游厅", "name": "查询某某展"}
    )


def test_halls_lookup() -> None:
    cat = Catalogue(
        [ServiceItem(id="a", name="甲事项", department="乙", handled_at="district_hall")],
        halls=[Hall("district", "南山区", "", "南山区行政服务大厅", address="某路1号")],
        templates=json.loads(
            (Path(__file__).resolve().parents[2] / "router/data/services/where_to_apply.json").read_text(
                encoding="utf-8"
            )
        ),
    )
    assert cat.hall_for("南山") is not None
    assert "某路1号" in cat.where_to_apply("a", district="南山区")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the need is one clause; the place and the story around it are not the need
        ("我住在龙岗区坂田街道，想办居住证，要去哪里办？", "sz-jzz-apply"),
        ("我是去年来深圳打工的，租房子住在宝安西乡，孩子明年读书，学校说要居住证，居住证在哪里办", "sz-jzz-apply"),
        # homophones a pinyin keyboard typed
        ("居住正怎么办", "sz-jzz-apply"),
        ("驾使证到期了怎么换", "sz-dl-renew"),
    ],
)
def test_questions_with_places_context_and_typos_find_the_item(catalogue: Catalogue, query: str,
                                                                expected: str) -> None:
    ids = [h.item.id for h in catalogue.search(query, k=3)]
    assert expected in ids, (query, ids)


def test_a_first_application_ranks_the_application_before_renewal_or_replacement(catalogue: Catalogue) -> None:
    hits = catalogue.search("居住证怎么办理", k=3)
    assert hits[0].item.id == "sz-jzz-apply"
    renew = catalogue.search("居住证到期了怎么续", k=3)
    assert renew[0].item.id == "sz-jzz-renew"
    lost = catalogue.search("居住证丢了怎么办", k=3)
    assert lost[0].item.id == "sz-jzz-lost"


def test_a_homophone_that_is_a_real_word_is_left_alone(catalogue: Catalogue) -> None:
    # 回锅肉 sounds like 回国…; it is a dish, not a returnee's service
    assert catalogue.search("回锅肉怎么做", k=3) == []
