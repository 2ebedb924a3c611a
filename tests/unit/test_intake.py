"""router.domain.intake.decide: the one decision on a message, from the NLU's reading and the evidence.

Each test names what a resident would see: a letter the NLU cannot read is still taken up, chit-chat is
still declined, danger always names a number, an everyday answer stays inside the form.
"""

from __future__ import annotations

import pytest

from router.domain.intake import Alarm, Evidence, NluResult, cues_of, decide

LETTER = ("尊敬的领导：我是龙岗区坂田街道某小区的业主，小区旁边的工地每天晚上十一点以后还在施工，噪音很大，"
          "老人孩子都睡不好，已经向物业和街道反映多次都没有结果，恳请相关部门尽快核实处理，谢谢。") * 2


def evidence(text: str, **kw: object) -> Evidence:
    base: dict[str, object] = {"chars": len(text), "cues": cues_of(text), "city": 0.5, "danger": {"none": 1.0}}
    base.update(kw)
    return Evidence(**base)  # type: ignore[arg-type]


def nlu(name: str, confidence: float = 0.9, *ranking: tuple[str, float]) -> NluResult:
    return NluResult(name, confidence, tuple(ranking))


def test_a_letter_the_nlu_calls_out_of_scope_becomes_a_ticket() -> None:
    d = decide(nlu("out_of_scope", 0.97), evidence(LETTER, city=0.99))
    assert d.outcome == "ticket" and d.intent == "report_problem"


def test_a_letter_the_nlu_did_not_understand_becomes_a_ticket_even_without_the_city_model() -> None:
    d = decide(nlu("nlu_fallback", 0.4), evidence(LETTER, city=None))
    assert d.outcome == "ticket"


@pytest.mark.parametrize("text", ["今天天气怎么样", "给我讲个笑话", "周杰伦的新歌", "红烧肉怎么做", "茅台股价多少"])
def test_plain_chit_chat_is_still_out_of_scope(text: str) -> None:
    d = decide(nlu("out_of_scope", 0.95), evidence(text, city=0.03))
    assert d.outcome == "out_of_scope"


def test_the_city_model_alone_does_not_accept_a_question_the_nlu_is_unsure_of() -> None:
    # "学什么好" reads like a service question to the NLU, nothing else says it is one
    d = decide(nlu("ask_service", 0.62), evidence("学什么好", city=0.04))
    assert d.outcome == "out_of_scope"


def test_a_service_question_with_a_good_catalogue_item_is_a_service_item() -> None:
    d = decide(nlu("out_of_scope", 0.7), evidence("居住证怎么办理", city=0.9, service=0.95))
    assert d.outcome == "service_item" and d.intent == "ask_service"


def test_a_complaint_that_mentions_a_service_is_a_ticket() -> None:
    text = "社保局窗口工作人员态度恶劣，故意刁难，我要投诉"
    d = decide(nlu("ask_service", 0.8), evidence(text, city=0.95, service=0.6))
    assert d.outcome == "ticket"


def test_a_consultation_on_a_local_matter_without_a_catalogue_item_is_a_ticket() -> None:
    text = "请问我们村旁边那条河什么时候开始治理？"
    d = decide(nlu("out_of_scope", 0.6), evidence(text, city=0.9, service=0.0))
    assert d.outcome == "ticket"


def test_unclear_words_are_asked_about_not_refused() -> None:
    # nothing of city life in it: the API says out_of_scope, the dialogue asks again (nlu_fallback)
    d = decide(nlu("nlu_fallback", 0.3), evidence("那个事情怎么说", city=0.3))
    assert (d.outcome, d.intent) == ("out_of_scope", "nlu_fallback")
    # a city matter, thinly: a ticket for the API, a question with choices in the dialogue
    d = decide(nlu("nlu_fallback", 0.3), evidence("你们管不管", city=0.55))
    assert (d.outcome, d.intent, d.ask) == ("ticket", "report_problem", False)
    # the NLU half thinks it is a service question, the catalogue has nothing, nothing else says much:
    # the dialogue asks which it is (report, service, person) rather than guess
    d = decide(nlu("ask_service", 0.55), evidence("那个证明呢", city=0.4, service=0.0))
    assert (d.intent, d.ask) == ("nlu_fallback", True)


def test_rules_decide_danger_whatever_the_nlu_says() -> None:
    alarm = Alarm("119", "fire", False, "phonetic", ("着火",))
    d = decide(nlu("out_of_scope", 0.99), evidence("楼下着活好大的烟", alarm=alarm))
    assert (d.outcome, d.emergency_number, d.intent) == ("emergency", "119", "emergency")


def test_a_crisis_gets_the_crisis_answer() -> None:
    alarm = Alarm("110", "self_harm", True, "text", ("不拖累",))
    d = decide(nlu("report_problem", 0.9), evidence("今晚之后就不拖累家里了", alarm=alarm))
    assert d.outcome == "emergency" and d.crisis and d.intent == "self_harm"


def test_a_confident_detector_is_a_crisis_without_any_rule() -> None:
    d = decide(nlu("out_of_scope", 0.9), evidence("猫托付好了 没什么放不下的了",
                                                    danger={"none": 0.05, "emergency": 0.0, "crisis": 0.95},
                                                    crisis_number="110"))
    assert d.outcome == "emergency" and d.crisis and d.emergency_number == "110"


def test_the_nlu_alone_cannot_raise_an_alarm_on_a_letter_the_detector_calls_safe() -> None:
    text = "燃气公司今年冬天多次停气，老人孩子做不了饭，请领导督促燃气公司保障供应。" * 3
    d = decide(nlu("emergency", 0.95), evidence(text, city=0.99, danger={"none": 0.99, "emergency": 0.01}))
    assert d.outcome == "ticket"


def test_without_the_danger_model_the_nlu_still_raises_an_alarm_with_a_number() -> None:
    d = decide(nlu("emergency", 0.95), evidence("快来啊这边出大事情啦", danger={}))
    assert d.outcome == "emergency" and d.emergency_number == "110"


def test_a_ticket_id_with_a_question_is_a_status_question() -> None:
    text = "SZ20261103-000417 现在到哪一步了"
    assert decide(nlu("inform", 0.7), evidence(text)).outcome == "ticket_status"


def test_a_person_is_a_handoff_but_a_letter_asking_for_a_leader_is_a_ticket() -> None:
    assert decide(nlu("request_human", 0.9), evidence("转人工")).outcome == "handoff"
    assert decide(nlu("request_human", 0.7), evidence(LETTER + "请领导接待", city=0.99)).outcome == "ticket"


def test_a_greeting_with_a_request_in_it_is_the_request() -> None:
    assert decide(nlu("greet", 0.95), evidence("你好")).outcome == "greeting"
    text = "你好，我家楼下的路灯坏了"
    assert decide(nlu("greet", 0.7), evidence(text, city=0.9)).outcome == "ticket"


@pytest.mark.parametrize(("text", "answer", "offered", "intent"), [
    ("算了", "decline", ("skip",), "skip"),
    ("不用了", "decline", ("skip", "stop"), "skip"),
    ("就这个号", "same_number", ("affirm", "skip"), "affirm"),
    ("算了", "button:stop", ("stop",), "stop"),
])
def test_an_everyday_answer_is_the_button_that_was_offered(text: str, answer: str, offered: tuple[str, ...],
                                                           intent: str) -> None:
    d = decide(nlu("stop", 0.8), evidence(text, answer=answer, offered=offered))
    assert d.intent == intent


def test_an_everyday_answer_never_hides_danger() -> None:
    alarm = Alarm("120", "medical", False, "text", ("晕倒",))
    d = decide(nlu("deny", 0.9), evidence("不用了 我妈晕倒了", answer="decline", offered=("skip",), alarm=alarm))
    assert d.outcome == "emergency"


def test_evidence_travels_as_json_and_back() -> None:
    ev = evidence(LETTER, alarm=Alarm("110", "violence", False, "alternative", ("打人",)), offered=("skip",),
                  answer="decline", service=0.7, place=True)
    back = Evidence.from_dict(ev.to_dict())
    assert back == ev
    with pytest.raises(ValueError):
        Evidence.from_dict({"version": 99})


def test_a_place_with_what_is_wrong_there_is_a_report_not_just_an_answer_to_where() -> None:
    text = "福田区华富街道莲花一村门口的井盖松动了，踩上去会响"
    d = decide(nlu("inform", 0.8), evidence(text, city=0.9, place=True))
    assert d.outcome == "ticket" and d.intent == "report_problem"
    assert any(r.startswith("answer:") for r in d.reasons)  # the dialogue acts on it, not on "inform"
    # the bare answer to "where?" stays the form's answer
    bare = decide(nlu("inform", 0.9), evidence("福田区华富街道莲花一村", city=0.4, place=True))
    assert bare.intent == "inform"


def test_danger_only_the_model_heard_names_the_service_its_words_point_to() -> None:
    from router.domain.emergency import danger_number

    assert danger_number("楼道里全是烟 门口出不去") == "119"
    assert danger_number("我爸突然倒地叫不醒 嘴唇发紫") == "120"
    assert danger_number("有人拿刀在楼下追着人跑 地上有血") == "110"  # the police first, they bring 120
    assert danger_number("快来人啊 出大事了") == "110"
    text = "我爸突然倒地叫不醒 嘴唇发紫"
    d = decide(nlu("report_problem", 0.6), evidence(text, danger={"emergency": 0.95}, danger_number="120"))
    assert d.outcome == "emergency" and d.emergency_number == "120"
    # the dialogue gets the same number from the metadata the router sends
    ev = evidence(text, danger={"emergency": 0.95}, danger_number="120")
    assert Evidence.from_dict(ev.to_dict()).danger_number == "120"


@pytest.mark.parametrize("text", [
    "能不能叫个人来听一下 我说不清楚",
    "换个小姑娘来跟我讲吧 机器我听不懂",
    "有没有活人啊",
    "麻烦帮我转接一下人工",
    "搵个人嚟听啦",
    "你是机器人吧？？我要跟活人说话",            # calling it a robot does not make it small talk
    "别再给我发链接了 能不能让一个真正的客服来",
    "我想跟值班的人直接讲，不要自动回复",
    "那个有没有人工啊人工人工",
])
def test_a_person_asked_for_in_everyday_words_is_a_handoff(text: str) -> None:
    assert decide(nlu("report_problem", 0.85), evidence(text)).outcome == "handoff"


def test_a_letter_that_plainly_asks_for_a_person_is_a_handoff() -> None:
    text = LETTER + "我不想再跟机器对话了，请安排工作人员联系我。"
    assert decide(nlu("report_problem", 0.95), evidence(text, city=0.99)).outcome == "handoff"


def test_a_person_asked_for_is_not_an_emergency_only_the_model_heard() -> None:
    ev = evidence("你讲的我都听不懂，快找个人来跟我说", danger={"emergency": 0.85, "none": 0.15})
    assert decide(nlu("emergency", 0.99), ev).outcome == "handoff"


@pytest.mark.parametrize("text", [
    "我前几天反映的楼道漏水，修好了没有",
    "上个月打电话投诉的那个夜间施工，到现在都没人管",
    "我爸上礼拜打电话报了电梯的问题，帮我查一下",
    "之前报嘅嗰单，而家点呀",
    "那单不用处理了，帮我撤销",
])
def test_asking_about_an_earlier_report_is_a_status_question(text: str) -> None:
    assert decide(nlu("report_problem", 0.9), evidence(text)).outcome == "ticket_status"


def test_chit_chat_the_nlu_calls_a_service_question_stays_chit_chat_when_the_city_model_disagrees() -> None:
    assert decide(nlu("ask_service", 0.99), evidence("明天会下雨吗", city=0.05)).outcome == "out_of_scope"


def test_a_safety_word_put_back_into_an_asr_alternative_needs_the_model_or_the_nlu_to_agree() -> None:
    alarm = Alarm("110", "call", False, "alternative_phonetic", ("救命",))
    quiet = evidence("出生证明丢了能补吗", alarm=alarm, danger={"none": 0.96, "emergency": 0.04})
    assert decide(nlu("ask_service", 0.95), quiet).outcome != "emergency"
    heard = evidence("出生证明丢了能补吗", alarm=alarm, danger={"none": 0.5, "emergency": 0.5})
    assert decide(nlu("ask_service", 0.95), heard).outcome == "emergency"
    assert decide(nlu("emergency", 0.95), quiet).outcome == "emergency"
    # a short cry heard in the best transcript is never second-guessed
    text_alarm = evidence("救命", alarm=Alarm("110", "call", False, "phonetic", ("救命",)), danger={"none": 0.99})
    assert decide(nlu("greet", 0.9), text_alarm).outcome == "emergency"


def test_two_characters_are_too_few_for_the_model_alone_to_raise_the_alarm() -> None:
    """A recogniser wrote "以后" for 你好啊 and the model read a crisis at 0.92."""
    d = decide(nlu("nlu_fallback", 0.4), evidence("以后", danger={"none": 0.08, "emergency": 0.0, "crisis": 0.92}))
    assert d.outcome != "emergency"


@pytest.mark.parametrize("text", ["材料我都准备好了", "我先走了，谢谢", "要一起吗"])
def test_a_short_everyday_reply_the_model_alone_reads_as_a_crisis_is_not_one(text: str) -> None:
    """Measured on the intake model: 0.82–0.98 P(crisis) for these, and a resident saying their papers
    are ready got the crisis answer."""
    d = decide(nlu("affirm", 0.6), evidence(text, danger={"none": 0.05, "emergency": 0.0, "crisis": 0.95}))
    assert d.outcome != "emergency" and not d.crisis


@pytest.mark.parametrize("text", ["有人一起死吗", "药都准备好了", "我在楼顶了"])
def test_a_short_message_with_a_word_of_death_or_an_edge_is_still_the_models_crisis(text: str) -> None:
    d = decide(nlu("nlu_fallback", 0.4), evidence(text, danger={"none": 0.05, "emergency": 0.0, "crisis": 0.95}))
    assert d.outcome == "emergency" and d.crisis


@pytest.mark.parametrize("text", [
    "我之前投诉房东不退押金 说三个工作日会回复 现在一周了 到哪一步了",
    "上月提交的关于小区物业乱收费的诉求，回复说已转住建局，请问住建局那边有结果了吗？",
    "两周前举报的那家无证诊所 查的没有啊 还天天开着门",
    "麻烦帮忙催一下我3月份反应的中介扣工资的事情，到现在都没有任何部门联系我",   # 反映 heard as 反应
    "你好 我之前报过空调的问题，有消息吗？",
    "催办！！！SZ20240502118456 都一个月了还没处理",                               # the id without its dash
    "查一下简多二零二六一一八零零零五一",                   # 进度 misheard, the id read out in Chinese digits
])
def test_an_earlier_report_asked_about_is_a_status_question(text: str) -> None:
    assert decide(nlu("report_problem", 0.9), evidence(text, city=0.95)).outcome == "ticket_status", text


def test_where_to_complain_with_the_complaint_is_a_ticket_not_a_service_question() -> None:
    text = "喺龙岗横岗嘅大排档收费好离谱，菜单冇写价钱，埋单先话一碟虾三百几，点投诉？"
    assert decide(nlu("ask_service", 0.9), evidence(text, city=0.95, service=0.6)).outcome == "ticket"


def test_a_phone_number_read_out_is_not_a_ticket_id() -> None:
    assert not cues_of("我的电话是一三八零零一三八零零零").ticket_id
    assert not cues_of("查一下号码13800138000").ticket_id


@pytest.mark.parametrize("text", [
    "我上个月提的那个增设公交站的建议 有没有被采纳",          # a suggestion asked about
    "我反映的楼下麻将馆噪音的事 处理了没有",                # "my report", no time word
    "我嘅投诉跟进成点呀",                                    # Cantonese: how far has it got
    "之前举报的那个无证摊档 处理了吗",
    "井盖那件事你们说转给水务局了 水务局说不知道 到底转了没",
])
def test_a_report_of_ones_own_asked_about_in_everyday_words_is_a_status_question(text: str) -> None:
    assert decide(nlu("report_problem", 0.9), evidence(text, city=0.95)).outcome == "ticket_status", text


def test_a_new_complaint_is_not_taken_for_a_status_question() -> None:
    for text in ("我要投诉楼下的烧烤店油烟", "我投诉一下这个路口的红绿灯坏了"):
        assert decide(nlu("report_problem", 0.9), evidence(text, city=0.95)).outcome == "ticket", text


@pytest.mark.parametrize("text", [
    "麻烦帮我转一下你们值班的同志",
    "你们这个系统太差了，叫你们负责人打电话给我",
])
def test_the_person_on_duty_or_in_charge_asked_for_is_a_person(text: str) -> None:
    assert decide(nlu("report_problem", 0.8), evidence(text, city=0.9)).outcome == "handoff", text


@pytest.mark.parametrize("text", ["好嘞 明白了 谢啦", "收到，谢谢", "知道了谢了"])
def test_thanks_with_an_ok_is_a_courtesy(text: str) -> None:
    assert cues_of(text).social == "thank", text


def test_asking_whether_one_may_complain_with_the_grievance_is_a_ticket() -> None:
    text = "公司一直不给交社保，劳动合同也没签，这种可以投诉吗"
    assert decide(nlu("ask_service", 0.9), evidence(text, city=0.95, service=0.6)).outcome == "ticket"


@pytest.mark.parametrize("text", [
    "上周在这儿报了路灯不亮，短信说已经转交了，然后呢？",              # what came of it
    "我哋早两日投诉嗰个乱摆卖，有冇人跟进？",                          # Cantonese, no question word at the end
    "之前反映过小区垃圾房臭的事情，想问下有没有结果",
    "昨天你们说二十四小时内回复我，现在两天了还是没人联系",            # a promise not kept
    "物业乱收费的那个投诉，街道说转给区里了，现在到哪一步了",          # named by its kind
    # residents_dev20, said again here
    "我之前报咗个沙井盖唔见咗 你哋话三日 而家成个礼拜 帮我催下",        # urged
    "我上个月反映过门口那个坑 已经补好了 这单可以结了",                # closed by the resident
    "之前反映过楼下大排档占道 有人来看过 但系晚上又摆出来 就系冇解决",  # come back
    "楼下乱停车那件事算了 车已经开走了 帮我撤了吧",                    # withdrawn
    "我周三报的路灯不亮 灯修好了 但电线还吊着 麻烦跟进一下",
    "回复我的短信说已转交街道 街道又说不归他们管 到底谁在管",
    "上周提交的关于噪音的诉求，编号忘了，能否用手机号查询办理状态？",
    "之前反映的夜间施工，回复说已处理，可昨晚十二点还在打桩，请再次督办。",
    "平台答复说已电话联系我并解释，但我从未接到过任何电话，请核实。",
    # residents_dev21, said again here
    "我之前投诉过楼下烧烤 你哋话处理咗 但係根本冇变",                    # disputed
    "之前投诉那个打麻将的事 算了算了 我不投诉了",                        # withdrawn
    "我那个投诉 能不能改成匿名",
    "已评价不满意 根本没来现场 希望重新处理",
    "本人此前投诉的停车收费问题，答复不清楚，本人对答复不满意，申请复核。",
    "想确认一下我昨晚提交的反映有没有成功，一直没收到受理短信",
    # residents_dev22, said again here
    "我前几天打电话说小区路灯的事 你们说转给街道了 到底有没得人管嘛",
    "我是上礼拜打电话说下水道堵了的那个 现在还是堵的 帮我催一催",
    "前天反映了公园那个烂椅子 今天去看还在 是不是没派下去啊",
    "我昨天反映的违建需要补充地址，在小区东门第三栋后面",
])
def test_an_earlier_report_followed_up_in_other_words_is_a_status_question(text: str) -> None:
    assert decide(nlu("report_problem", 0.8), evidence(text, city=0.9)).outcome == "ticket_status", text


@pytest.mark.parametrize("text", ["好的 知道了", "嗯嗯 收到", "辛苦了，你们也不容易", "👍👍", "🙏",
                                  # residents_dev20, said again here
                                  "好滴 收到👌", "ok", "OK ok", "十分感谢您的解答，祝您工作顺利！",
                                  "中秋快乐，热线的工作人员辛苦了", "哦哦 好的 明白了"])
def test_an_acknowledgement_or_a_thumbs_up_alone_is_a_courtesy(text: str) -> None:
    assert cues_of(text).social == "thank", text


@pytest.mark.parametrize("text", ["好的，我家楼下路灯坏了", "知道了，那去哪里办居住证"])
def test_an_acknowledgement_with_a_matter_is_not_only_a_courtesy(text: str) -> None:
    assert cues_of(text).social == "", text


@pytest.mark.parametrize("text", ["nei hou 😊", "hey👋", "喂 你好呀", "中秋快乐🥮", "祝大家端午安康！"])
def test_a_hello_in_cantonese_romanisation_or_with_an_emoji_is_a_greeting(text: str) -> None:
    assert cues_of(text).social == "greet", text


@pytest.mark.parametrize("text", ["新年快乐🧧 祝你们工作顺利", "祝工作顺利，再见。", "祝您身体健康 拜拜"])
def test_a_goodbye_with_wishes_is_a_courtesy(text: str) -> None:
    assert cues_of(text).social in ("greet", "goodbye"), text


@pytest.mark.parametrize("text", ["不用了，就这样吧，再见", "好啦好啦 唔该晒 拜拜"])
def test_a_goodbye_at_the_end_of_a_call_is_a_courtesy_even_where_the_model_reads_a_crisis(text: str) -> None:
    d = decide(nlu("goodbye", 0.7), evidence(text, danger={"crisis": 0.88}, spoken=True))
    assert d.outcome == "greeting", d


def test_a_goodbye_after_despair_is_not_only_a_courtesy() -> None:
    text = "我真的撑不住了，就这样吧，再见"
    d = decide(nlu("goodbye", 0.7), evidence(text, danger={"crisis": 0.88}, spoken=True))
    assert d.outcome == "emergency" and d.crisis, d


def test_a_person_asked_for_as_someone_who_answers_is_a_person() -> None:
    text = "你帮我转到那个有人接的那个，我眼睛不好看不清字"
    assert decide(nlu("nlu_fallback", 0.4), evidence(text)).outcome == "handoff"


@pytest.mark.parametrize("text", [
    "公司试用期不给交社保，这样对吗？我想举报",                          # the wish to report said outright
    "每个月工资里扣两百块培训费，这合法吗？想请劳动部门查一下",
    "交了定金的月子会所突然涨价，不补钱就不给住，怎么办",                # a consumer dispute
    "楼下车棚里一堆人拉飞线充电，迟早出事，谁管？",
])
def test_a_grievance_with_a_question_about_it_is_a_ticket(text: str) -> None:
    assert decide(nlu("ask_service", 0.95), evidence(text, city=0.9, service=0.6)).outcome == "ticket", text


def test_present_parts_are_the_sentences_of_now_and_the_two_after() -> None:
    from router.domain.intake import present_parts
    text = "去年反映过积水。没人管。今天又下暴雨，刚才车开进隧道熄火了。水在往上涨。车门打不开。后来呢。"
    assert present_parts(text) == ["今天又下暴雨，刚才车开进隧道熄火了。水在往上涨。车门打不开。"]
    assert present_parts("去年反映过积水，一直没人管。") == []


def test_a_letter_is_an_emergency_when_its_present_part_reads_as_one() -> None:
    d = decide(nlu("letter", 0.0), evidence(LETTER, city=0.99, danger={"none": 0.99, "emergency": 0.01},
                                            danger_now={"emergency": 0.85, "crisis": 0.02}, danger_number="120"))
    assert d.outcome == "emergency" and d.emergency_number == "120"
    quiet = decide(nlu("letter", 0.0), evidence(LETTER, city=0.99, danger={"none": 0.99, "emergency": 0.01},
                                                danger_now={"emergency": 0.3, "crisis": 0.02}))
    assert quiet.outcome == "ticket"


@pytest.mark.parametrize("text", [
    "你是机器人吧 换个人来跟我说",
    "给我转你们主任 我要当面讲",
    "找个懂的人来 你回答的都不对",
    "麻烦接一下你们领导 这事你解决不了",
    # in dialect, by key, in pinyin, tired of the machine (2026-12-05)
    "我唔识讲普通话 有冇识讲白话嘅人",
    "你是机器吧 帮我接个话务员",
    "按哪个键才能找到人工啊",
    "你们人工是不是下班了",
    "你是机器人吧我不跟机器人说",
    "zhuan rengong",
    "我要找你们主管反映这个问题",
    # a Cantonese speaker, a call back from staff, someone to talk with (residents_dev16, said again here)
    "你们讲普通话我听唔明，有冇人识讲白话㗎",
    "这事涉及两个部门，机器人回答不了，请安排工作人员电话联系我",
    "刚搬来深圳，一个人都不认识，能不能有个真人跟我说说话",
    "老伴走了以后我一个人在家，一天到晚没个人说话，你能陪我聊几句吗",
    "小姑娘 我没什么事 就是一个人在家 你能陪我说说话吗",                 # residents_dev19, said again here
    "这事涉及两个部门，能不能直接让工作人员给我打个电话",
])
def test_a_manager_someone_who_knows_or_another_person_asked_for_is_a_handoff(text: str) -> None:
    d = decide(nlu("out_of_scope", 0.7), evidence(text, city=0.3))
    assert d.outcome == "handoff", (text, d)


@pytest.mark.parametrize("text", ["你是真人吗", "请把我的情况反映给街道"])
def test_small_talk_about_the_assistant_and_a_report_are_not_a_handoff(text: str) -> None:
    assert decide(nlu("out_of_scope", 0.7), evidence(text, city=0.3)).outcome != "handoff"


@pytest.mark.parametrize("text", [
    "那个 我上个月 打过电话 反映那个 下水道的事 现在 现在是什么情况了",
    "我昨天在网上报的停水问题 现在是谁在处理",
    "唔使搞喇，嗰单取消咗佢啦",
])
def test_an_earlier_report_asked_about_in_other_words_is_a_status_question(text: str) -> None:
    from router.domain.normalise import normalise
    clean = normalise(text)
    d = decide(nlu("report_problem", 0.8), evidence(clean, city=0.9))
    assert d.outcome == "ticket_status", (text, d)


def test_a_plain_request_for_a_person_is_not_made_a_crisis_by_the_model_alone() -> None:
    text = "别再给我推链接了，我就想和真人聊两句😤"
    d = decide(nlu("request_human", 0.9), evidence(text, danger={"none": 0.1, "emergency": 0.0, "crisis": 0.85}))
    assert d.outcome == "handoff"
    alarm = Alarm("110", "self_harm", True, "text", ("不想活了",))
    said = decide(nlu("request_human", 0.9), evidence("我不想活了，转人工", alarm=alarm))
    assert said.outcome == "emergency" and said.crisis


@pytest.mark.parametrize("text", [
    "我旧时报过啲渠淤塞 你哋话三日内有人嚟 而家一个礼拜都冇人嚟",      # Cantonese: you said someone would come
    "你们回复说已办结，可是问题根本没解决啊，我要重新处理",            # closed but not solved: reopen
    "想补充一下之前投诉的材料，我拍到了视频，发到哪里？",
    "你们那个回访电话我没接到 事情还没解决的 别给我结案了",
    "I submitted a complaint last week about the street lights. Any update?",
    "唔该帮我睇下我嗰单投诉去到边",
    # said in new ways (as residents_dev11's author wrote them, 2026-12-05)
    "上个月报的路灯那个事 你们说一周内修 今天都第十天了",
    "我前两个礼拜打过嚟讲渠淤塞 有冇下文",
    "我反映了四次了 每次都说转给别的部门 到底是谁在处理",
    "你们说已经派人来看了 我等了一上午 人呢",
    "我的投诉被退回了 说诉求不清楚 要我重新提交吗",
    "昨天投诉的 今天就显示办结了 根本没人来过",
    "我之前打过嚟讲条街啲渠盖烂咗 你哋话会整 整咗未",
    "I filed a complaint about the noise last month and there are no updates",
    # in everyday words (residents_dev16, safety_dev16, said again here)
    "俺上回反映的那个欠工钱的事 有信儿没",
    "I reported a blocked drain on Nanhai Avenue last week. Any updates?",
    "我举报的那个占道经营两个礼拜了还在，你们到底有没有派人去看过？",
    "我那个 楼道灯的事 有人来拍了个照 后来就没消息了 是不是还要等",
    "第四次问了，小区门口那堆建筑垃圾到底有没有人管",
    "前天在公众号提交的投诉一直没有收到受理短信，是否提交成功了？",
    "上个礼拜投诉嘅噪音问题，想跟进返，我录咗几段片可唔可以加多啲资料？",
    "我的投诉到底在谁手上？街道说归城管，城管说归街道",
    "在网上提交了路灯的问题，状态显示已转办，转给哪个部门了？多久会有结果",
    "之前反映过楼上漏水，社区说会上门，后来去了没有？有没有什么结论",
    "查询一下，本月12号反映的井盖松动，处理了吗",
    # handed in, reported days ago, reported last year, in English and Cantonese (residents_dev17, safety_dev17, said again here)
    "工伤认定材料交上去两个月了，能不能帮我看看到哪一步了",
    "I reported the broken bench on Monday, ticket ending 4410, any update?",
    "我上个礼拜报咗条街啲渠盖烂咗，话两日有人嚟，而家都冇消息",
    "那个 那个垃圾站 去年就反映了 怎么 怎么还是那么臭 有人来看过没有",
    "我五日前报过路灯唔着嘅事 想问下处理到边一步",
    "俺前些日子反映那个水管的事儿 到现在还滴答漏呢 给俺查查咋回事儿",
    # waiting for the call, "处理中" for weeks, checked or not, filed or not (residents_dev18, said again here)
    "I reported a broken streetlight in Nanshan ten days ago. Has anyone looked at it? I haven't heard anything back.",
    "上个月反映的噪音那个事 说会有人联系我 我一直在等电话",
    "5月2日在网上提交的路灯问题，一直显示处理中，还需要多久",
    "我上个礼拜打电话讲那个 无证幼儿园的事 后来查了冇",
    "昨天报的那个井盖的事情有人去处理了吗",
    "上周举报的过期食品，市场监管部门是否已经立案？什么时候能收到结果？",
    "我上次打电话说楼道灯坏了 你们说会来修 到现在是怎么回事",
    "我上个月提的公园加座椅的建议有回复吗",
    "上个月反映的路灯，回复说已修好，可昨晚又不亮了，是不是要重新报？",   # a dated report of one's own, then a question
    # residents_dev19, said again here
    "上个礼拜我反映的那棵歪树的事 有人来弄没得嘛",
    "我上回打电话说楼下污水冒出来 你们说给我回电话 一直没打来",
    "我之前举报楼下的黑作坊 怎么没消息了",
    "之前反映的乱停车 回访电话我没接到 能再打一下吗 或者直接告诉我结果",
    "我儿子帮我在网上提了高龄津贴的申请 说二十个工作日 现在一个多月了 帮我看看卡在哪里了",
])
def test_an_earlier_report_followed_up_reopened_or_added_to_is_a_status_question(text: str) -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("report_problem", 0.8), evidence(normalise(text), city=0.9))
    assert d.outcome == "ticket_status", (text, d)


@pytest.mark.parametrize(("text", "outcome"), [
    ("The street lights on my road in Shekou have been out for a week, can someone fix them pls", "ticket"),
    ("我眼睛不好看不清字 能不能有人给我打个电话", "handoff"),
    ("别跟我扯了，直接给我接话务员。", "handoff"),
    ("好的明白了 谢谢 再见", "greeting"),
])
def test_english_complaints_a_call_back_an_operator_and_a_goodbye_after_thanks(text: str, outcome: str) -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("out_of_scope", 0.9), evidence(normalise(text), city=0.5))
    assert d.outcome == outcome, (text, d)


def test_an_agency_asked_to_send_its_people_is_a_ticket_not_a_person_on_the_line() -> None:
    text = "天桥上有个老人家在乞讨 好像糊涂了 能不能让救助站的人来看看"
    d = decide(nlu("request_human", 0.92), evidence(text, city=0.9))
    assert d.outcome == "ticket", d
    assert decide(nlu("request_human", 0.92), evidence("能不能让人工来跟我说", city=0.5)).outcome == "handoff"


def test_a_request_to_send_someone_to_fix_it_is_not_a_person_on_the_line() -> None:
    d = decide(nlu("report_problem", 0.9), evidence("楼道灯坏了 帮我找个人来修一下", city=0.9))
    assert d.outcome == "ticket", d


@pytest.mark.parametrize("text", [
    "Hi, I work in Nanshan. How do I get a social security card? My employer pays in but I never got one.",
    "can I renew my driving license in Shenzhen if my hukou is elsewhere",
])
def test_an_english_service_question_the_catalogue_answers_is_a_service_question(text: str) -> None:
    d = decide(nlu("out_of_scope", 0.9), evidence(text, city=0.2, service=0.7))
    assert d.outcome == "service_item", (text, d)


def test_english_small_talk_stays_out_of_scope() -> None:
    d = decide(nlu("out_of_scope", 0.95), evidence("Can you recommend a good restaurant in Shekou?", city=0.1))
    assert d.outcome == "out_of_scope", d


@pytest.mark.parametrize(("text", "outcome"), [
    ("同一个问题我已经是第三次投诉了 每次都回复已处理 第二天照样摆", "ticket_status"),
    ("麻烦把我昨天投诉楼上装修的那个撤了吧", "ticket_status"),
    ("Can I speak with a human operator please?", "handoff"),
    ("能不能安排一个工作人员给我回个电话", "handoff"),
    ("你哋有冇識講廣東話嘅接線生啊", "handoff"),
])
def test_a_repeated_complaint_a_withdrawal_and_a_person_asked_for_in_english_or_cantonese(text: str,
                                                                                          outcome: str) -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("report_problem", 0.8), evidence(normalise(text), city=0.9))
    assert d.outcome == outcome, (text, d)


@pytest.mark.parametrize(("text", "outcome"), [
    ("俺听不明白你说啥 找个人来跟俺说", "handoff"),                                  # the northern 俺
    ("请安排一位工作人员和我联系，我的情况比较复杂，不方便在这里说。", "handoff"),
    ("哎呀我上次说那个 垃圾站的事情 现在都一个礼拜了 到底管不管啊", "ticket_status"),
    ("我那个违建的投诉 街道说转给城管了 城管又说不归他们管 到底谁管", "ticket_status"),
    ("SZ20261125-001052 这个单可以加急吗 楼顶漏水越来越严重了", "ticket_status"),
    ("The sidewalk near Coastal City has been dug up for weeks with no signs. Can someone get it fixed?", "ticket"),
])
def test_a_person_an_earlier_report_and_an_english_complaint_said_other_ways(text: str, outcome: str) -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("out_of_scope", 0.9), evidence(normalise(text), city=0.5))
    assert d.outcome == outcome, (text, d)


@pytest.mark.parametrize("text", [
    "罗湖区有个工地的塔吊看着歪歪的，能不能派人检查一下安全",                 # an agency asked to send its people
    "我们老人去社康看病 每次都要手机预约 能不能给老人留点号",                 # a suggestion
    "燃气费这个月突然要交六百多，是不是表坏了？燃气公司电话打不通",            # a bill and a company unreachable
    "上个礼拜被一个骑电动车的撞了 他跑了 我想找那个监控 你们能不能帮忙",      # a hit and run
])
def test_a_request_a_suggestion_or_a_grievance_with_a_question_is_a_ticket_not_a_service(text: str) -> None:
    d = decide(nlu("ask_service", 0.75), evidence(text, city=0.9, service=0.8))
    assert d.outcome == "ticket", (text, d)


def test_a_call_for_help_only_put_back_by_ear_needs_the_model_to_agree() -> None:
    heard = Alarm("110", "call", False, "phonetic", ("救命",))
    typo = decide(nlu("ask_service", 0.7), evidence("出生医协就名上孩子名字打错了一个字,怎么跟正", alarm=heard,
                                                    danger={"none": 0.9, "emergency": 0.08, "crisis": 0.02}))
    assert typo.outcome != "emergency", typo
    fire = Alarm("119", "fire", False, "phonetic", ("着火了",))
    assert decide(nlu("ask_service", 0.7), evidence("楼下着活了", alarm=fire,
                                                    danger={"none": 0.9, "emergency": 0.08, "crisis": 0.02})).outcome == "emergency"


def test_low_mood_the_model_alone_reads_as_a_crisis_is_a_person_to_talk_to_when_typed() -> None:
    despair = {"none": 0.1, "emergency": 0.02, "crisis": 0.88}
    d = decide(nlu("out_of_scope", 0.6), evidence("好累，每天醒来都觉得没有意义，也不知道还能跟谁说", danger=despair))
    assert d.outcome == "handoff" and not d.crisis, d
    # with a farewell or the means in it, the same reading is a crisis
    d = decide(nlu("out_of_scope", 0.6), evidence("存折放在桌上了 密码也写好了 就跟你们说一声", danger=despair))
    assert d.outcome == "emergency" and d.crisis, d
    # heard on the phone, the words may be garbled: the model's reading stands alone
    heard = evidence("我真的程不下去了和交代都买好了就在抽粥屋里", danger=despair, spoken=True)
    assert decide(nlu("out_of_scope", 0.6), heard).crisis
    # a complaint said in despair is still a complaint to act on
    d = decide(nlu("report_problem", 0.8), evidence("楼上天天吵到半夜，我真的好累好累，求你们管管", danger=despair, city=0.9))
    assert d.outcome == "ticket", d


def test_evidence_says_whether_the_words_were_heard_both_ways() -> None:
    ev = evidence("你好", spoken=True)
    assert Evidence.from_dict(ev.to_dict()).spoken is True
    assert Evidence.from_dict({**ev.to_dict(), "spoken": None}).spoken is False


@pytest.mark.parametrize(("text", "outcome"), [
    ("你是机器吗 我听不明白你说的 你叫那个接电话的姑娘跟我说", "handoff"),
    ("我想撤返之前嗰個投訴，個房東已經退返按金畀我喇，唔該晒", "ticket_status"),
    ("之前投诉小区旁边的垃圾站，处理的人回复说下个月就搬走，现在都过去两个月了还在原地。", "ticket_status"),
])
def test_a_person_a_cantonese_withdrawal_and_a_promise_not_kept(text: str, outcome: str) -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("report_problem", 0.9), evidence(normalise(text), city=0.9))
    assert d.outcome == outcome, (text, d)


@pytest.mark.parametrize("text", [
    "點解我呢個月燃氣費收咗八百幾蚊？係唔係個錶有問題？想搵人上門睇下",
    "被货架上掉下来的饮料砸到头，超市经理现在说是我自己碰的，不认账了。请问这种情况怎么处理？",
    "社康中心的预约形同虚设，每次去了还要排队一个小时，希望改进一下预约制度",
    "我们的积分比邻居高却被调剂到五公里外，质疑分配是否公平，要求教育部门复核。",
])
def test_a_visit_asked_for_a_denial_a_suggestion_or_a_review_is_a_ticket(text: str) -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("ask_service", 0.6), evidence(normalise(text), city=0.9, service=0.8))
    assert d.outcome == "ticket", (text, d)


def test_fortune_telling_is_not_a_city_service() -> None:
    d = decide(nlu("ask_service", 0.99), evidence("帮我算一下八字，今年适不适合换工作", city=0.8, service=0.6))
    assert d.outcome == "out_of_scope", d


@pytest.mark.parametrize(("text", "outcome"), [
    ("喂 没什么事 就是我一个人在家 老伴前年走了 一整天都没人跟我讲句话 你们那边有没有人能陪我聊一会儿", "handoff"),
    ("最近心情很低落，下班回到出租屋就一个人，来深圳两年了也没什么朋友", "handoff"),
    ("我好无聊啊 陪我聊聊天", "out_of_scope"),        # boredom is chit-chat, not despair
    ("今天心情不好 工作好累 老板又骂我 唉", "out_of_scope"),
])
def test_loneliness_reaches_a_person_and_boredom_stays_chit_chat(text: str, outcome: str) -> None:
    d = decide(nlu("out_of_scope", 0.9), evidence(text, city=0.1))
    assert d.outcome == outcome, (text, d)


@pytest.mark.parametrize("text", [
    "喂 我上个月跟你们说的那个 楼道灯的事 你们说转给物业了 物业说不归他管 那现在到底怎么弄啊",
    "我之前反映过的那个违建，现在又往上加盖了一层，我拍了照片，怎么补充给你们？",
    "我上回打电话讲的那个 菜市场门口摆摊的 你们说转给城管了 是哪个城管在弄啊",
    "催下你哋，已经一个月喇，楼下啲餐厅油烟仲系咁",
])
def test_an_earlier_report_pressed_added_to_or_asked_after_is_a_status_question(text: str) -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("report_problem", 0.95), evidence(normalise(text), city=0.9))
    assert d.outcome == "ticket_status", (text, d)


def test_a_how_to_question_with_to_di_is_not_an_earlier_report() -> None:
    text = "听说可以办老人优待卡，网上找了好几个入口说法都不一样，请问现在到底怎么办，需要本人到场吗"
    assert decide(nlu("ask_service", 0.9), evidence(text, city=0.9, service=0.8)).outcome == "service_item"


@pytest.mark.parametrize("text", ["喂 喂 有人吗 是12345吗", "早晨！喺唔喺度呀？",
                                  # thanks among other courtesies (residents_dev18)
                                  "好好好 谢谢你啊姑娘 没事了 挂了啊", "要得要得 谢谢了哈 拜拜", "谢谢你们的帮助，问题已经解决了！"])
def test_a_greeting_that_names_the_hotline_or_asks_in_cantonese_is_still_a_greeting(text: str) -> None:
    d = decide(nlu("out_of_scope", 0.5), evidence(text, city=0.6))
    assert d.outcome == "greeting", d


@pytest.mark.parametrize(("text", "place"), [
    ("南山哪家火锅好吃？周末朋友来", True),
    ("求解：鸡兔同笼共35个头94只脚，各有多少只？孩子作业", False),
    ("Can you recommend a 降噪耳机 under 800块?", False),  # 降噪 is no noise complaint
    # a sum longer than a chat line, gossip, what to eat asked with a word of advice (residents_dev17)
    ("帮我算一道题：一本书小明第一天看了全书的三分之一，第二天看了剩下的一半，还剩40页，全书多少页？", False),
    ("听讲那个顶流又塌房了？快来吃瓜", False),
    ("今晚唔知食咩好，俾个建议我啦", False),
    ("教我整豉油鸡啦，点样先至入味？", False),                 # a recipe in Cantonese
    ("日本的首都是哪里？孩子问我的", False),                    # trivia
    ("请帮我解这道题：甲管3小时注满水池，乙管6小时，一起开几小时？", False),  # 甲管/乙管 are pipes, not 管 (to manage)
    ("帮我写一篇关于深圳湾公园的作文，小学三年级，300字", True),            # homework (residents_dev21)
    # residents_dev23, said again here
    ("后天福田会不会下雨啊 想去公园烧烤", True),                              # the weather
    ("京基100有多高？以前是不是深圳最高的楼", True),                          # a building's height
])
def test_restaurants_homework_and_shopping_are_not_city_services_even_with_a_place(text: str, place: bool) -> None:
    d = decide(nlu("ask_service", 0.6), evidence(text, city=0.4, place=place))
    assert d.outcome == "out_of_scope", (text, d)


def test_a_health_certificate_asked_for_a_restaurant_job_is_still_a_service_question() -> None:
    text = "帮我查一下 办健康证 在哪里体检 我要去餐厅上班"
    assert not cues_of(text).plainly_other


@pytest.mark.parametrize("text", [
    "来电人反映所在工厂未为员工缴纳社会保险，加班费未按规定支付。诉求：劳动监察部门介入调查。",   # an operator's summary
    "上周我家楼下液化气罐漏气，现在已经没事了。想反映一下：能不能加快城中村管道燃气入户？",     # a suggestion
])
def test_an_operators_summary_and_a_suggestion_to_speed_up_are_tickets_not_service_questions(text: str) -> None:
    d = decide(nlu("ask_service", 0.9), evidence(text, city=0.9, service=0.6))
    assert d.outcome == "ticket", (text, d)


def test_a_question_with_a_new_report_in_it_is_not_a_status_question() -> None:
    from router.domain.normalise import normalise
    d = decide(nlu("report_problem", 0.9), evidence(normalise("帮我反映一下楼下晚上的噪音好吗"), city=0.9))
    assert d.outcome == "ticket", d


def test_an_operators_summary_labelled_as_a_ticket_is_not_a_status_question() -> None:
    from router.domain.normalise import normalise
    text = "【工单】来电人反映在某商场买的空调型号与宣传不符，商家拒绝退换。诉求：请市场监管部门协调退货。"
    d = decide(nlu("report_problem", 0.9), evidence(normalise(text), city=0.95))
    assert d.outcome == "ticket", d


def test_strangers_who_said_they_were_gas_inspectors_are_no_earlier_report() -> None:
    from router.domain.normalise import normalise
    text = "昨天我们小区来了两个人说是查燃气的要进屋 后来看电视说有人冒充燃气公司骗老人 你们给查查"
    assert not cues_of(normalise(text)).refers_back


def test_ones_own_card_broken_and_asked_where_to_replace_is_a_service_question() -> None:
    text = "我的医保卡 芯片坏了 刷不了 拿药都用不了 要去哪里补办一张"     # residents_dev23, said again here
    d = decide(nlu("report_problem", 0.7), evidence(text, city=0.95, service=0.72))
    assert d.outcome == "service_item", d


def test_a_broken_facility_asked_where_to_report_is_still_a_ticket() -> None:
    text = "小区的路灯坏了 晚上黑乎乎的 要去哪里反映"
    d = decide(nlu("report_problem", 0.7), evidence(text, city=0.95, service=0.6))
    assert d.outcome == "ticket", d


@pytest.mark.parametrize("text", ["机器人查不到我投诉的进度 转人工谢谢", "打了三次了都是机器 我的事一直没解决 我要跟你们的人讲"])
def test_a_person_asked_for_plainly_beats_a_status_question(text: str) -> None:
    d = decide(nlu("check_ticket", 0.7), evidence(text, city=0.9))
    assert d.outcome == "handoff", d


@pytest.mark.parametrize(("text", "query"), [
    ("我那个社保卡 磁条坏了 刷不了 要去哪里换张新的", "社保卡补办"),
    ("奶奶身份证过期了 行动不方便 能不能上门办", "身份证到期换证"),
    ("小区的路灯坏了 要去哪里反映", ""),
])
def test_what_to_ask_the_catalogue_for_ones_own_broken_lost_or_expired_card(text: str, query: str) -> None:
    from router.domain.intake import own_document
    assert own_document(text) == query
