"""router.services.triage.Triage: the outcome a resident's message gets, with fakes for the NLU, the
topic classifier, the 属地 resolver and the service catalogue (no Rasa, no Redis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from router.domain.jurisdiction import Jurisdiction
from router.domain.topics import Topic
from router.services.triage import Triage
from router.services.understanding import Understanding


class FakeNLU:
    """Answers every message with one intent, and remembers what it was asked."""

    def __init__(self, intent: str | None, confidence: float = 0.95, *, down: bool = False) -> None:
        self.intent, self.confidence, self.down = intent, confidence, down
        self.seen: list[str] = []

    async def __call__(self, text: str) -> dict[str, Any]:
        self.seen.append(text)
        if self.down:
            raise ConnectionError("rasa is down")
        return {"intent": {"name": self.intent, "confidence": self.confidence}, "entities": []}


class FakeClassifier:
    def predict(self, text: str) -> Topic:
        return Topic(l1="城乡建设", l2=None, l3=None, department="区住房和建设局", confidence=0.8)


class FakeResolver:
    def __init__(self, place: Jurisdiction | None = None) -> None:
        self.place = place or Jurisdiction()

    def resolve(self, text: str) -> Jurisdiction:
        return self.place


@dataclass(frozen=True)
class FakeItem:
    id: str
    name: str

    def to_summary(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "department": "市人力资源和社会保障局"}


@dataclass(frozen=True)
class FakeHit:
    item: FakeItem
    score: float


@dataclass
class FakeCatalogue:
    hits: list[FakeHit] = field(default_factory=list)

    def search(self, text: str, k: int = 3, district: str | None = None) -> list[FakeHit]:
        return self.hits[:k]


def triage(intent: str | None, *, down: bool = False, place: Jurisdiction | None = None,
           hits: list[FakeHit] | None = None) -> Triage:
    return Triage(parse=FakeNLU(intent, down=down), understanding=Understanding(
        classifier=FakeClassifier(), resolver=FakeResolver(place), catalogue=FakeCatalogue(hits or []), model=None))


# --- emergencies always name a number ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "intent", "number"),
    [
        ("仓库坍塌，有人被压在下面", "report_problem", "119"),  # rules beat a model that heard a complaint
        ("有人揸住把刀喺街度追人", "report_problem", "110"),
        ("一家人吃完饭都在吐", "nlu_fallback", "120"),  # rules beat a model that did not understand
        ("我爸突然讲不出话，一边手脚没力", "emergency", "120"),  # the model's 110 guess is not used
        ("石油气瓶在漏气，有嘶嘶的声音", "emergency", "119"),
        ("我媳妇破水了", "emergency", "120"),
    ],
)
async def test_rule_emergencies_get_the_rule_number_whatever_the_model_says(text: str, intent: str,
                                                                            number: str) -> None:
    result = await triage(intent)(text, "web")
    assert result.outcome == "emergency"
    assert result.emergency_number == number
    assert result.to_dict()["service_items"] == []


async def test_emergency_rules_work_when_the_nlu_is_down() -> None:
    result = await triage(None, down=True)("孩子误食了洗衣液", "voice")
    assert result.outcome == "emergency" and result.emergency_number == "120"
    assert result.decision["reasons"][0].startswith("rules:")


async def test_a_complaint_is_a_ticket_when_the_nlu_is_down() -> None:
    result = await triage(None, down=True)("楼下餐馆每天半夜还在营业，噪音太大，请城管处理一下", "web")
    assert result.outcome == "ticket"
    assert result.nlu["name"] == "nlu_unavailable"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我实在撑不下去了，今晚就想结束这一切", "110"),  # no rule word: the model's self_harm decides
        ("心里空空的，想从这个世界消失", "110"),
        ("药都吞下去了，对不起大家", "120"),  # harm done → ambulance
        ("我把一瓶药都吃了，对不起大家", "120"),  # harm done → ambulance
    ],
)
async def test_a_crisis_seen_only_by_the_model_still_gets_a_number(text: str, number: str) -> None:
    result = await triage("self_harm")(text, "wechat")
    assert result.outcome == "emergency"
    assert result.crisis is True
    assert result.emergency_number == number


async def test_a_crisis_the_rules_see_names_an_ambulance_when_harm_is_done() -> None:
    result = await triage("self_harm")("我割了手腕，血止不住", "wechat")
    assert result.outcome == "emergency" and result.crisis is True
    assert result.emergency_number == "120"


async def test_model_only_emergency_goes_to_the_police() -> None:
    result = await triage("emergency")("快来啊这边出大事情啦", "voice")
    assert result.outcome == "emergency"
    assert result.emergency_number == "110"
    assert result.crisis is False


@pytest.mark.parametrize("intent", ["emergency", "self_harm", "report_problem", "inform", "nlu_fallback"])
async def test_no_emergency_outcome_is_ever_without_a_number(intent: str) -> None:
    for text in ("心里好难受", "救命啊", "楼下有人晕倒了", "今天天气不错"):
        result = await triage(intent)(text, "web")
        if result.outcome == "emergency":
            assert result.emergency_number in {"110", "119", "120"}, (intent, text)


@pytest.mark.parametrize("text", ["120上周来得太慢了，我要投诉", "怎么办理消防安全检查"])
async def test_complaints_and_service_questions_are_not_emergencies(text: str) -> None:
    result = await triage("report_problem")(text, "web")
    assert result.outcome != "emergency"
    assert result.emergency_number is None


# --- ticket ids mean follow-up ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("SZ20261103-000417 这个现在办到哪了", "inform"),
        ("麻烦问下SZ20261009-000052是哪个单位在跟", "nlu_fallback"),
        ("单号 s z 二零二六一零零九 零零零零五二 帮我看看", "inform"),  # read out by the speech recogniser
        ("SZ20261103-000417 怎么还没人处理", "report_problem"),  # a complaint about the ticket itself
        ("SZ20261103-000417", "out_of_scope"),
    ],
)
async def test_a_ticket_id_that_is_not_a_new_complaint_is_a_status_question(text: str, intent: str) -> None:
    result = await triage(intent)(text, "voice")
    assert result.outcome == "ticket_status"
    assert result.emergency_number is None


async def test_the_nlu_sees_the_spoken_ticket_id_as_digits() -> None:
    nlu = FakeNLU("check_ticket")
    await Triage(parse=nlu, understanding=Understanding(classifier=FakeClassifier(), resolver=FakeResolver(),
                                                        catalogue=FakeCatalogue()))(
        "工单 S Z 二零二六一一零三 零零零四一七 进度", "voice")
    assert "SZ20261103-000417" in nlu.seen[0]


async def test_a_new_complaint_that_mentions_an_old_ticket_stays_a_ticket() -> None:
    place = Jurisdiction(district="南山区", street="粤海街道")
    result = await triage("report_problem", place=place)(
        "上次SZ20261001-000321说的那个垃圾堆又出现了，在南山区粤海街道", "web")
    assert result.outcome == "ticket"
    assert result.topic is not None and result.location == place.to_location_dict()


# --- the other outcomes -----------------------------------------------------------------------------

async def test_a_service_question_lists_items_and_a_topic() -> None:
    hits = [FakeHit(FakeItem("svc-1", "社会保障卡补办"), 0.82)]
    result = await triage("ask_service", hits=hits)("社保卡丢了怎么补", "web")
    assert result.outcome == "service_item"
    assert result.to_dict()["service_items"] == [
        {"id": "svc-1", "name": "社会保障卡补办", "department": "市人力资源和社会保障局", "score": 0.82}]
    assert result.topic is not None


@pytest.mark.parametrize(
    ("intent", "outcome"),
    [("greet", "greeting"), ("request_human", "handoff"), ("out_of_scope", "out_of_scope"),
     ("check_ticket", "ticket_status")],
)
async def test_intents_map_to_outcomes(intent: str, outcome: str) -> None:
    result = await triage(intent)("随便说一句", "wechat")
    assert result.outcome == outcome
    assert result.emergency_number is None


async def test_an_unclear_message_with_a_place_is_a_ticket_and_without_one_out_of_scope() -> None:
    place = Jurisdiction(district="宝安区", street="西乡街道")
    assert (await triage("inform", place=place)("西乡街道那边", "web")).outcome == "ticket"
    assert (await triage("inform")("嗯嗯", "web")).outcome == "out_of_scope"


# --- a letter with danger now told in the middle of it ------------------------------------------------

class PartModel:
    """A danger model that hears danger in a short passage about a crash, and nothing in a whole letter
    (as the real one does: the letter's grievance drowns the present part)."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def predict(self, text: str) -> dict[str, dict[str, float]]:
        self.read.append(text)
        danger = {"none": 0.1, "emergency": 0.9, "crisis": 0.0} if "护栏" in text and len(text) <= 200 else \
            {"none": 0.99, "emergency": 0.01, "crisis": 0.0}
        return {"danger": danger, "city": {"city": 0.95, "other": 0.05}}


GRIEVANCE = "我是跑长途的货车司机，想反映一下高速上有一段路面坑坑洼洼，去年就反映过，一直没有修，" * 3


async def test_a_letter_with_danger_now_in_the_middle_is_an_emergency() -> None:
    model = PartModel()
    understanding = Understanding(classifier=FakeClassifier(), resolver=FakeResolver(),
                                  catalogue=FakeCatalogue(), model=model)
    letter = GRIEVANCE + "刚才就在前面，一辆小车撞到护栏上，司机头靠着气囊不动。后面的车还在开过来。" + GRIEVANCE
    result = await Triage(parse=FakeNLU("report_problem"), understanding=understanding)(letter, "web")
    assert result.outcome == "emergency" and result.emergency_number in ("110", "120")
    assert any("letter_now" in r for r in result.decision["reasons"])
    assert any("刚才就在前面" in part and len(part) <= 200 for part in model.read)


async def test_a_letter_whose_present_part_is_the_grievance_stays_a_ticket() -> None:
    understanding = Understanding(classifier=FakeClassifier(), resolver=FakeResolver(),
                                  catalogue=FakeCatalogue(), model=PartModel())
    letter = GRIEVANCE + "现在路面还是坑坑洼洼的，希望尽快修好。" + GRIEVANCE
    result = await Triage(parse=FakeNLU("report_problem"), understanding=understanding)(letter, "web")
    assert result.outcome == "ticket"


# --- what else the recogniser heard -----------------------------------------------------------------

class HeardModel:
    """Hears danger only in the words "状态很怪" (no rule knows them: only the model can hear them)."""

    def predict(self, text: str) -> dict[str, dict[str, float]]:
        hot = "状态很怪" in text
        return {"danger": {"none": 0.05 if hot else 0.97, "emergency": 0.93 if hot else 0.02, "crisis": 0.01},
                "city": {"city": 0.6, "other": 0.4}}


def heard_triage() -> Triage:
    return Triage(parse=FakeNLU("report_problem", 0.6), understanding=Understanding(
        classifier=FakeClassifier(), resolver=FakeResolver(), catalogue=FakeCatalogue(), model=HeardModel()))


async def test_the_danger_model_reads_every_alternative_the_recogniser_heard() -> None:
    result = await heard_triage()("我爸在客厅装太很快", "voice", ["我爸在客厅状态很怪"])
    assert result.outcome == "emergency" and result.decision["reasons"][0].startswith("detector:")
    assert (await heard_triage()("我爸在客厅装太很快", "voice")).outcome != "emergency"


class StoryCatalogue:
    """Finds the card's replacement only when asked in few words, as the real catalogue does: a story's
    other words ("看病拿药都用不了") drown the item in a long query."""

    def search(self, text: str, k: int = 3, district: str | None = None) -> list[FakeHit]:
        if "社保卡" in text and len(text) <= 8:
            return [FakeHit(FakeItem("sz-sb-card-replace", "社会保障卡挂失、补换卡"), 0.9)]
        return []


async def test_a_card_of_ones_own_broken_and_asked_where_to_replace_finds_its_replacement() -> None:
    t = Triage(parse=FakeNLU("report_problem", 0.7), understanding=Understanding(
        classifier=FakeClassifier(), resolver=FakeResolver(), catalogue=StoryCatalogue(), model=None))
    result = await t("我那个社保卡 磁条坏了 刷不了 去医院看病拿药都用不了 要去哪里换张新的 要不要钱", "voice")
    assert result.outcome == "service_item", result.decision
    assert [i["id"] for i in result.service_items][:1] == ["sz-sb-card-replace"]


class FarewellModel:
    """Reads any goodbye as a crisis, as the intake model does at 0.8–0.9 on a short turn."""

    def predict(self, text: str) -> dict[str, dict[str, float]]:
        hot = "再见" in text or "拜拜" in text
        return {"danger": {"none": 0.1 if hot else 0.97, "emergency": 0.02, "crisis": 0.88 if hot else 0.01},
                "city": {"city": 0.3, "other": 0.7}}


async def test_a_goodbye_the_recogniser_garbled_is_still_a_goodbye_where_another_guess_has_it_right() -> None:
    t = Triage(parse=FakeNLU("goodbye", 0.6), understanding=Understanding(
        classifier=FakeClassifier(), resolver=FakeResolver(), catalogue=FakeCatalogue(), model=FarewellModel()))
    result = await t("不用冷,就这样吧,再见", "voice", ["不用了,就这样吧,再见"])
    assert result.outcome == "greeting", result.decision
    assert (await t("不用冷,就这样吧,再见", "voice")).outcome == "emergency"  # with no other guess: the model's word


async def test_a_past_event_told_is_not_raised_by_an_alternative() -> None:
    result = await heard_triage()("上礼拜我爸在客厅装太很快，社区医生来得太慢", "voice",
                                  ["上礼拜我爸在客厅状态很怪，社区医生来得太慢"])
    assert result.outcome != "emergency"


async def test_a_message_typed_in_pinyin_is_read_in_characters_by_the_rules_and_the_nlu() -> None:
    t = triage("nlu_fallback")
    result = await t("lou xia zhao huo le hao da de yan", "web")
    assert result.outcome == "emergency" and result.emergency_number == "119"
    assert t.parse.seen == ["楼下着火了好大的烟"]  # type: ignore[attr-defined]
