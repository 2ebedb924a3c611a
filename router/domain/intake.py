"""What a resident's message is, decided from all the evidence in one place.

Every channel and the triage API reach the same decision through ``decide``: the router gathers the
evidence once (router.services.understanding), and
- ``POST /api/v1/triage`` calls ``decide`` with Rasa's NLU result on the same text;
- in a conversation the evidence rides along in the message metadata, and the last component of the
  Rasa pipeline (bot.components.intake.IntakeDecision) calls ``decide`` with the same NLU result, so
  the dialogue acts on the decided intent.

The order of the questions, and why:
1. **Danger now** — the emergency rules (on the text, on every ASR alternative, on the text with
   safety words heard wrong written back) or a confident detector: tell them whom to call. A crisis
   (suicide, self-harm) gets the crisis answer. A past event, a hazard or a supply outage is not
   danger now (the rules see to that) and falls through to a ticket with the right urgency.
2. **An everyday answer** to the question the bot just asked ("算了" where 跳过 was offered).
3. **An existing ticket** — a ticket id with follow-up words, or the NLU confident that it is about
   one: progress, urging, withdrawing.
4. **A person** — the resident asks for one.
5. **Greetings** — short, and nothing else in them.
6. **Not a city matter** — only when *every* signal says so: the NLU, the city/other model, no
   catalogue hit, no place, no complaint or question about public life. This is the rare exception.
7. **A city matter** — a service question when the catalogue has a good item and the resident asks
   how/where; otherwise a ticket (12345 practice: complaints, requests for help, suggestions and
   consultations on a local matter are all tickets). When the evidence is thin the dialogue asks a
   short question with choices instead of guessing (``ask``); the stateless triage gives its best guess.

Pure: standard library only (imported by the bot runtime, Python 3.10).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

__all__ = [
    "Cues", "Evidence", "Decision", "NluResult", "courtesy", "cues_of", "decide", "own_document", "present_parts",
    "EVIDENCE_VERSION", "FORM_ANSWER_INTENTS", "OUTCOME_OF_INTENT",
]

EVIDENCE_VERSION = 1

# Thresholds, chosen on the development sets (bench/results/intake.md says which and what they give).
CITY_CLEAR = 0.7          # the city/other model's P(city) above which a message is a city matter
CITY_UNLIKELY = 0.15      # below this, with nothing else, a message is not a city matter
CITY_SURE = 0.85          # above this the city model alone outweighs a confident NLU
SERVICE_FLOOR = 0.5       # catalogue score of a usable item (router.domain.catalogue calibrates it)
SERVICE_STRONG = 0.75
CRISIS_DETECTOR = 0.80    # P(crisis) that is a crisis without any rule
EMERGENCY_DETECTOR = 0.80  # P(emergency) that is an emergency without any rule (short messages only)
# Fewer characters than this say too little for the model alone to raise the alarm: a recogniser's "以后"
# for 你好啊 read as a crisis at 0.92. The rules still read every length ("救命", "着火了").
DETECTOR_MIN_CHARS = 4
# Shorter than this, the model alone raises a crisis only beside a word of death, harm or an edge
# (Cues.mortal): "材料我都准备好了", "我先走了，谢谢", "要一起吗" are everyday replies it read as a crisis
# at 0.82–0.98; a crisis this short says more ("不想活了" is the rules', "有人一起死吗" has its word).
CRISIS_CONTEXT_CHARS = 12
# Typed text where the model alone hears a crisis but no word of death, harm, an edge or a farewell is in it
# (Cues.mortal) is despair, not a crisis: a person talks with them. Measured on the real crisis posts' locked
# half (2026-12-05, with that day's other changes): the crisis answer on 30 of 95 posts of risk 0–2 (was 36),
# the same 163 of 175 of risk 7–10; no crisis of the outside authors' sets lost its answer.
EMERGENCY_WITH_NLU = 0.50
# A call for help heard only by ear (救命 for "就名") in a turn this long or longer needs the danger model or
# the NLU to agree (ALTERNATIVE_PHONETIC_FLOOR); a shorter cry stands on its own.
CALL_CONTEXT_CHARS = 12
ALTERNATIVE_PHONETIC_FLOOR = 0.30  # P(emergency) + P(crisis) that confirms a safety word put back into an ASR alternative
NLU_SURE = 0.80
# A letter (LETTER_CHARS or more) is read whole by the rules and the model, and what it says happened
# drowns what is happening now. Its present parts — from each word of now (刚才, 现在, 还在…) to the end of
# the second sentence after it, at most PRESENT_CHARS, present_parts() — are read again by the danger
# model: the highest P(emergency) at or
# above this, or P(crisis) at or above CRISIS_DETECTOR, is danger now. Chosen on the development sets
# (2026-12-05): the highest part of any ticket letter among them (76) read 0.44, of the real letters'
# development half (450 of 150+ characters) 0.39; 25 of 30 outside authors' letters with danger now told
# mid-story read 0.6 or more.
LETTER_NOW_DETECTOR = 0.60
NLU_LIKELY = 0.60
SHORT_CHARS = 40          # a chat message, not a letter
GREETING_CHARS = 18
PLAIN_OTHER_CHARS = 80    # fortune telling, sums, gossip: read as such up to this length
LETTER_CHARS = 150

OUTCOME_OF_INTENT: dict[str, str] = {
    "ask_service": "service_item",
    "report_problem": "ticket",
    "emergency": "emergency",
    "self_harm": "emergency",
    "request_human": "handoff",
    "check_ticket": "ticket_status",
    "urge_ticket": "ticket_status",
    "withdraw_ticket": "ticket_status",
    "greet": "greeting",
    "goodbye": "greeting",
    "thank": "greeting",
    "out_of_scope": "out_of_scope",
    "nlu_fallback": "out_of_scope",
}
STATUS_INTENTS = ("check_ticket", "urge_ticket", "withdraw_ticket")
SOCIAL_INTENTS = ("greet", "goodbye", "thank")
# Answers to a question the bot asked ("南山区", "是的", "跳过", "13812345678"): inside a form they are
# the form's; the dialogue keeps them unless there is danger or a plain new request.
FORM_ANSWER_INTENTS = ("inform", "affirm", "deny", "skip", "stop", "rate")


# --- cues: what the words alone say -------------------------------------------------------------

_COMPLAINT = re.compile(
    "投诉|举报|反映|扰民|噪音|噪声|吵|违章|违建|违规|违法|乱收费|乱扔|乱倒|乱停|乱搭|乱贴|乱摆|拖欠|欠薪|欠(?:我|了)?工资|"
    "不给(?:钱|退|发|办|住|开)|涨价|加价|坐地起价|霸王条款|乱扣|扣(?:了)?[^，。!?！？]{0,6}(?:费|钱|工资)|这样?(?:合法|合理|对)吗|飞线|迟早(?:要|会)?出(?:大)?事|不发|不退|没人管|不管|不处理|不作为|推诿|推来推去|臭|异味|污染|排污|直排|扬尘|灰尘|粉尘|堵塞|堵了|"
    "坏了|损坏|破损|漏水|渗水|积水|占道|霸占|占用|被偷|骗|诈骗|整治|治理|维修|修理|安全隐患|隐患|危险|纠纷|调解|补偿|赔偿|"
    "维权|不合理|不公平|不规范|野蛮|态度(?:差|恶劣|不好)|刁难|克扣|强制|强行|擅自|私自|非法|黑车|无证|停水|停电|停气|断水|断电|"
    "没水|没电|没气|没暖气|供暖|供气不足|水压|故障|失修|脏|乱|差|(?<!降)噪|烦死|受不了|影响(?:居民|生活|休息|出行|通行)|严重影响|"
    "拆迁|征地|烂尾|延期交房|物业|业委会|房东|中介|押金|退费|退款|消费|质量问题|假冒|过期|变质|发霉|地沟油|弄丢|丢失|不赔|食品安全|卫生|蚊|老鼠|蟑螂|"
    "路灯|井盖|红绿灯|信号灯|坑洼|塌陷|裂缝|倾斜|漏电|电线|树木|倒伏|垃圾|污水|下水道|化粪池|油烟|广场舞|装修|施工|夜间施工|"
    # in English, as expatriate residents write
    "(?i:\\b(?:broken|not working|out for|been out|complain(?:t)?|noisy|noise|garbage|rubbish|trash|pothole|leak(?:ing)?|flood(?:ed|ing)|blocked|street ?lights?|dug up|no signs?|tripped)\\b)|"
    # an agency or a company that cannot be reached, a driver who ran off
    "打不通|联系不上|不认账|赖账|耍赖|翻脸不认|形同虚设|质疑|(?:撞|碰)[^。！？!?]{0,12}(?:跑了|逃了|逃逸|溜了)|肇事逃逸"
)
_REQUEST = re.compile(
    "(?:请|恳请|希望|要求|盼|望|麻烦|请求|呼吁)[^。!?！？]{0,30}(?:处理|解决|整治|治理|查处|核实|调查|协调|督促|落实|答复|回复|"
    "介入|关注|帮助|帮忙|维修|修|(?<![甲乙丙丁两水进出排油气钢])管|清理|拆除|取缔|整改|改善|恢复|退还|赔偿|增设|增加|开通|设置|安装|重视|给个说法|做主|复核|复查|彻查|重新审核)|"
    "诉求[:：][^。!?！？]{0,30}(?:处理|解决|查处|调查|介入|整改|核实|赔偿|补缴|支付)|求助|帮帮|救救我们|请领导|尊敬的|致[^，。]{0,12}(?:领导|部门|局|办|政府|委员会)|特此|望处理|望答复|望解决|谢谢(?:领导|政府)|"
    "(?:怎么|如何)(?:处理|解决|维权|投诉)|找谁|该找哪个部门|哪个部门管|有人管吗|有没有人管|谁来管|谁管|(?i:\\b(?:can someone|could someone|please) (?:fix|repair|check|look)\\b|\\b(?:can|could) (?:someone|you) (?:get|have) (?:it|this|that|them) (?:fixed|repaired|checked|sorted|cleaned)\\b)|"
    # the wish to report said outright, an agency asked to look into it, help to find what was lost
    "(?:我|我们)?(?:想|要)(?:实名)?(?:举报|投诉)|(?:你们|政府|社区|街道)(?:能不能|可不可以|能否|可否)帮(?:忙|我|我们|一下)|(?:想|要)?请[^。!?！？]{0,8}(?:部门|局|执法|监管|有关)[^。!?！？]{0,6}查|帮(?:我|忙)找(?:一下|回)?|"
    # where to complain, in Cantonese too: the complaint is taken here ("点投诉？", "应该搵边个？")
    "点(?:样)?投诉|[搵揾]边个|边个管|去边度投诉|(?:向|去|到)哪(?:里|儿)?投诉|投诉(?:电话|渠道)|(?:可以|能|能不能|可不可以)投诉|投诉得(?:吗|唔)"
)
_QUESTION = re.compile(
    "怎么办理|如何办理|怎么办|怎样办|咋办|怎么申请|如何申请|怎么弄|怎么搞|点样|怎么(?:补|换|续|领|交|缴|报|查|开|迁|转|注销|激活|预约|登记)|"
    "在哪(?:里|儿)?(?:办|补|换|领|交|申请|登记|预约)|去哪(?:里|儿)?(?:办|补|换|领|申请)|到哪(?:里|儿)?办|"
    "需要(?:什么|哪些|带)|要带什么|要什么材料|什么材料|什么条件|什么手续|流程|多久|多长时间|几天|能不能|可不可以|可以(?:吗|不)|"
    "是否|请问|咨询|想问|问一下|问下|有没有|什么时候|政策|标准|规定|补贴|办理|申领|续签|补办|领取|[?？]|吗$|吗[。!！]?$|"
    "(?i:\\bhow (?:do|can|to|long|much|should)\\b|\\bwhere (?:can|do|should|is)\\b|\\bwhat (?:documents|papers|materials|do i need)\\b|\\bcan i\\b|\\bdo i need\\b|\\bapply for\\b|\\brenew\\b)"
)
_SUGGESTION = re.compile("(?:能不能|可不可以|能否|可否)(?:加快|尽快|推进|推动|普及)|建议|提议|希望(?:能|可以)?(?:增设|增加|开通|设置|安装|修建|建设)|能否(?:增设|增加|开通|设置)|(?:能不能|可不可以|能否|可否)(?:多|再)(?:开|设|加|派|安排)|(?:能不能|可不可以|能否|可否)(?:给|为)(?:老人|老年人|我们老人|居民|残疾人)(?:家)?[^。！？!?]{0,4}(?:留|开|设|安排|提供|保留)|"
                         "(?:希望|建议|要求)(?:能|可以)?(?:改进|改善|优化|完善|整改)")
# A person asked for so plainly that even a long letter means it ("我不想再跟机器对话了，请安排工作人员联系我").
_HUMAN_PLAIN_WORDS = ("(?:叫|找|换|让)(?:那个|个|一个)?[^，。！？!?\\s]{0,6}(?:姑娘|小姑娘|工作人员|真人|活人|接线员|话务员|接电话的人)(?:来|过来)?(?:跟|和|同)(?:我|俺)(?:说|讲|聊)|转人工|人工客服|人工服务|(?:找|要|转|跟|和|同|搵)(?:个)?(?:真人|活人|真的人)|(?:不想|不要|唔想)(?:再)?(?:跟|和|同)机器|"
                      "安排(?:一个|个|一位|位)?(?:工作人员|人|专人)(?:联系|打电话给|回电话给)我|安排(?:一个|个|一位|位)?(?:工作人员|专人|人)(?:和|跟|与)我(?:联系|通电话|打电话)|真正的(?:客服|人工|工作人员|人)|"
                      "(?:跟|和|找|同)(?:你们)?(?:的)?(?:值班的人|值班人员|工作人员|人工)(?:直接)?(?:讲|说|谈|聊|沟通)|"
                      "不要(?:再)?(?:给我)?(?:自动回复|机器回复)|换(?:个|一个)(?:人|真人|活人|工作人员)来(?:跟|和)我(?:说|讲|聊|谈)|"
                      # "你给我找个人来", "帮我接个接线员" (not "帮我找个人来修": send_someone), "我不跟机器人说",
                      # "我就想找个人说清楚", "zhuan rengong", "按哪个键能找到人工", "识讲白话嘅人"
                      "(?:给|帮|同|俾)我(?:找|接|叫|转|搵)(?:个|一个|個)?(?:人|接线员|话务员|工作人员|真人)(?:来|过来|嚟)?(?![^。！？!?]{0,3}(?:修|看|处理|查|管|帮|搬|清|拆))|"
                      "(?:不|唔)(?:想)?(?:跟|和|同)(?:你|个)?机器(?:人)?(?:说|讲|倾|聊|讲嘢)|找(?:个)?人(?:说|讲)(?:清楚|明白)|"
                      "(?i:zhuan\\s?ren\\s?gong|ren\\s?gong\\s?ke\\s?fu)|(?:找到|转到|接到|转去|接去|按)[^。！？!?]{0,4}人工(?![湖智草林降])|人工(?:是不是|系唔系|系咪)?(?:下班|冇人|没人|不在)|"
                      "(?:识|会|識)(?:讲|说|講)(?:白话|粤语|广东话|廣東話|客家话|潮汕话|闽南话|普通话|英语|英文)(?:嘅|的)(?:人|接线生|接线员|客服)|"
                      "(?:有冇|有没有|有无|有)人(?:识|会|識)(?:讲|说|講|听|聽)(?:白话|粤语|广东话|廣東話|客家话|潮汕话|闽南话|英语|英文)|"
                      "(?:安排|请|让)(?:一个|个|一位|位)?(?:工作人员|专人|人)(?:打)?电话(?:联系|打给|回)我|机器人(?:回答|解决|处理|答)不了|"
                      "有(?:个|一个)?(?:真人|活人)(?:跟|和|陪|同)我|"
                      "(?i:\\b(?:speak|talk) (?:to|with) (?:a |an )?(?:human|real person|person|operator|agent)\\b|\\bhuman operator\\b)")
_HUMAN_PLAIN = re.compile(_HUMAN_PLAIN_WORDS)
# Every plain request is also a request (_HUMAN ends with _HUMAN_PLAIN_WORDS): human_plain implies human.
_HUMAN = re.compile("(?:跟|和|同)你们(?:的|嘅)?人(?:讲|说|谈|倾)|陪我(?:说说话|说会(?:儿)?话|讲讲话|倾下偈|倾吓偈)|(?:让|叫|请|安排)(?:你们的?)?工作人员(?:直接)?(?:给我|跟我)?(?:打(?:个)?电话|联系我|回电)|人工坐席|真人(?:客服|接听|服务)|找(?:个)?人(?:工)?(?:说|聊|讲)|接线员|话务员|客服人员|"
                    "(?:能不能|可不可以|可以|麻烦|请)(?:有人|安排(?:一个|个)?(?:人|工作人员)|找(?:个)?人)(?:给我)?(?:打(?:个)?电话|回(?:个)?电话|来电话)|接线生|"
                    # "给我转你们主任", "麻烦接一下你们领导", "找个懂的人来"
                    "(?:给我)?(?:转|接)(?:给|到)?(?:一下)?(?:你们)(?:的)?(?:主任|领导|负责人|主管|经理|上级)|"
                    "找(?:个|一个)?(?:懂的|明白的|懂行的|专业的|能做主的|管事的)(?:人)?(?:来)?|"
                    "(?:是|系)人(?:还是|定系)机器|是不是机器人|是机器人吗|(?:要|叫|让)(?:你们)?(?:的)?(?:领导|负责人|主管|经理)(?:出)?来|"
                    "叫(?:你们)?(?:的)?(?:领导|负责人|主管|经理|上级)(?:出)?来|(?:我要|让我)?(?:跟|和|找)(?:你们)?(?:的)?(?:领导|负责人|主管|经理|上级)(?:说|讲|谈|反映)|"
                    # a person asked for in everyday words: "叫个人来听", "换个姑娘来跟我说", "有没有活人", "有个人接"
                    "(?:叫|找|换|派|搵|嗌)(?:个|一个|個)?(?:人|姑娘|小姑娘|工作人员|真人|活人)(?:来|嚟|過嚟|过来)?(?:跟|和|同|俾)?(?:我)?(?:说|讲|聊|听|聽|接)|"
                    "活人|转员工|有(?:个|一个)?人接(?:的|听)|有(?:个|一个)人接|(?:转|接)(?:到|给)?[^。！？!?]{0,6}有人接|(?:接|转|找|叫)(?:一下)?[^。！？!?]{0,8}值班(?:的)?(?:同志|人员|人|领导)|"
                    "(?:让|叫|请)(?:你们)?(?:的)?(?:领导|负责人|主管|经理)(?:跟我|和我)?(?:联系我|打电话给我|回电话给我|给我(?:打|回)电话|联系)|有没有人工|(?:要|找)人工|人工(?:啊|呀|吧)?人工|转接(?:一下)?(?:工作人员|人工)|(?:跟|和|同)人(?:讲|说|倾)|" + _HUMAN_PLAIN_WORDS)
_FOLLOW_UP = re.compile(
    "进度|进展|到哪一步|哪一步了|什么阶段|处理到|办到|处理得怎么样|处理了没|处理好了没|派给|派到|谁在跟|哪个部门在|受理了|办结|"
    "撤销|撤回|撤返|撤单|催办|催一下|催下|催吓|催促|加急|加快处理|(?:有|冇)(?:没有)? ?(?:update|更新)|查一下(?:我的)?(?:工单|单子|投诉|反映)|查询工单|(?<!【)工单|单号|好了没|有没有人(?:处理|管|来|跟)")
# The resident's own ticket, named as such.
_OWN_TICKET = re.compile("(?<!【)工单|单号|我的单|我(?:那|这)?(?:张|个)单|投诉单|回执|我的诉求|(?:那|这|嗰|呢)(?:个|張|张)?单(?![位元车独身据价])|"
                         "(?:那|嗰)(?:个|單)?(?:事情?|单子)|(?:那|嗰)(?:个|個|單|单)?(?:投诉|投訴|反映|举报|诉求)(?![电渠])|"
                         # "我那个违建的投诉"
                         "我(?:那|这|嗰)(?:个|單|单)?[^，。！？!?\\s]{1,8}(?:的|嘅)(?:投诉|投訴|反映|举报|诉求)(?![电渠])|"
                         # "我那个 漏水的事 … 后来就没消息了", "我的投诉到底在谁手上"
                         "我(?:那|这|嗰)(?:个|單|单)?\\s?[^，。！？!?\\s]{1,8}(?:的|嘅)(?:事|事情|问题)|我的(?:投诉|投訴|反映|举报|个案|案子)|"
                         # in English: "ticket 尾号 3321"
                         "(?i:(?<![a-z])ticket(?![a-z]))|尾号")
# A reference to the resident's own earlier report, with a question about it: a follow-up even without
# the ticket id ("我昨天报的噪音那个 有人接了没", "上个礼拜投诉嗰单嘢 点解冇人覆我").
# When a report was made, as residents date it (shared by the two cues below).
_REPORT_DATED = ("(?:上)?(?:周|星期|礼拜)[一二三四五六日天]|昨晚|今早|今天早上|昨天|前天|琴日|上周|上个?星期|上个?礼拜|上个?月|之前|上次|前几天|前些日子|前段时间|去年|"
                 "[0-9一二两三四五六七八九十几]+(?:天|日|周|个星期|个礼拜|个月)(?:以)?前")
_EARLIER_REPORT = re.compile(
    "(?:我|我们|我哋|他|她|佢)?(?:" + _REPORT_DATED + "|寻日|尋日|噚日|早(?:两|几|兩|幾)(?:日|天)|前(?:两|几|兩|幾)日|上個?禮拜|上個月|"
    "[0-9一二三四五六七八九十]+月份?|以前|前些天|前阵子|前年|年初|那天|早上|上午|刚才|旧时|早排|"
    "[0-9一二两三四五六七八九十几]+(?:個禮拜|個月)(?:以)?前|网上|帮我|替我)"
    "[^。！？!?]{0,12}(?:报|報|投诉|投訴|反映|反应|举报|打(?:过|過)?电话|打(?:过|過)?(?:来|嚟)|(?:说|講|讲)(?!是|自己)|提交|提(?=的|过|出|嘅)|留言|打过)"
    "(?:过|過|了)?(?:的|嘅|嗰|那|咗|[^。！？!?]{0,30}(?:单|單|事|问题|那个))?|"
    # "我反映的狗叫的事", "我之前提的建议", "我嘅投诉", "你们说转给特检院了"
    "(?:我|我们|我哋)(?:之前|上次|上回|早前)?(?:反映|反应|投诉|投訴|举报|舉報|报|提|提交|留言)(?:过)?(?:的|嘅)|催(?:下|一下|吓|促)?(?:你们|你哋)|"
    "(?:我|我们|我哋)(?:的|嘅)(?:投诉|投訴|反映|举报|建议|诉求)|(?:嗰|𠮶|那)(?:张|個|个)?单|(?:你们|你哋|街道|社区|居委|物业|城管|他们|佢哋)(?:又)?(?:说|讲|講)(?:已经)?(?:转|派|交)(?:给|俾|咗|到)|"
    "(?:你们|你哋)(?:说|讲|講|话|話|答应|承诺)(?:过)?[^。！？!?]{0,10}(?:回复|回电|答复|联系|处理|上门|派人|覆|有人(?:嚟|来))|"
    "(?:回复|说|讲)(?:说)?(?:已经|已)办结|回访|(?:回复|答复)(?:我)?(?:的)?(?:短信|消息|电话)?(?:说|讲|写)(?:已经|已)?(?:转|派|交|办结|处理|联系)|"
    "帮我(?:把[^。！？!?]{0,12})?撤(?:了|咗|掉|销|回)|平台(?:答复|回复)(?:我)?|"
    # "你们那个回复 我收到短信了", "已评价不满意", "本人此前投诉的…", "我那个投诉" (residents_dev21)
    "(?:你们|你哋)(?:那个|嘅|的)(?:回复|答复)|收到(?:了)?(?:你们|你哋)?(?:的|嘅)?(?:回复|答复)|已(?:经)?评价|此前(?:投诉|反映|举报)|(?:我|本人)(?:那个|嗰个|的)(?:投诉|反映|举报|诉求)|"
    "(?i:\\bI (?:submitted|reported|filed|made|sent)\\b|\\bmy (?:complaint|report|ticket|case)\\b)|"
    # "前两个礼拜打过嚟", "反映了三次", "投诉咗三次", "你们说已经安排人来", "你们回复说", "去年提的违建投诉",
    # "我的投诉被退回了", "显示办结了", "满意度评价…点成满意"
    "前(?:两|几|兩|幾|[0-9一二三四五六七八九十])(?:个|個)?(?:天|日|周|星期|礼拜|禮拜|月)[^。！？!?]{0,6}(?:报|投诉|反映|打(?:过|過)|讲|说)|"
    "(?:反映|反应|投诉|投訴|举报|打(?:了|咗)?(?:你们)?(?:电话)?)(?:了|咗|过)?(?:[0-9一二两兩三四五六七八九十几幾好]+)(?:次|回|趟)|"
    "(?:你们|你哋)(?:说|讲|講|话|話|回复|答复)(?:说|讲)?(?:已经|已)?(?:安排|派|转|责令|处理|整改|立案)|(?:你们|你哋|处理的人|工作人员|街道|社区)(?:回复|答复)(?:说|讲)?|"
    "(?:去年|上次|之前|当时|前天|昨天)(?:提|报|投诉|反映|举报)(?:的|嘅)|投诉(?:被|俾)(?:退回|驳回|关|撤)|"
    "显示(?:已经|已)?(?:办结|完成|结案|处理完)|满意度(?:评价)?|评价(?:点|选|打|按)(?:错|成)|"
    # "第三次投诉了", "就这样给我办结了", "把我昨天投诉…的那个撤了吧" (with the A side), "帮我在网上报了"
    "第[0-9一二三四五六七八九十几]+次(?:投诉|反映|举报|打电话|打嚟|问|来问|催)|"
    # 2026-12-05 (residents_dev17): "欠薪投诉交上去一个月了", "我上周一 report 了…"
    "(?:投诉|反映|举报|诉求|材料)(?:已经|都|早就)?(?:交|递|提交?)(?:上去|上去了|了|咗)|(?i:(?<![a-z])report(?:ed)?) ?(?:了|咗|过)|(?:本月|这个月|上个月)?[0-9一二三四五六七八九十]+(?:号|日)(?:反映|投诉|举报|报|提交)(?:的|嘅)|(?:就这样|就)?给我办结了")
# A question at the end of a message that dates an earlier report of the resident's own ("上周提交的关于…的举报，
# 大概什么时候能收到结果？", "上次反映的占道烧烤…是不是要重新报？"): about that report, whatever the words of the question.
_ASKS_AT_END = re.compile("(?:[?？]|吗|呢|没有|了没|未|冇|嘛)[。！!?？\\s~～]*$")
_EARLIER_DATED = re.compile(
    "(?:" + _REPORT_DATED + "|上回|早前)"
    "[^。！？!?]{0,16}(?:报|報|投诉|投訴|反映|反应|举报|提交|留言)(?:过|過|了|咗)?(?:的|嘅)")
_ASKS_ABOUT_IT = re.compile(
    "(?:有人|有冇人)[^。！？!?]{0,4}(?:接|管|处理|来|跟|覆|回)[^。！？!?]{0,3}(?:了没|没有|吗|未)|到底[^。！？!?]{0,6}(?:来|处理|管)了?没|"
    "怎么还没|点解[^。！？!?]{0,8}(?:冇|未)|然后呢|后来呢|(?:没|冇)(?:有)?下文|(?:有没有|有冇|有无)(?:结果|消息|回音|答复|下文|进展|人跟进|人理)|"
    "(?:有人|有冇人|有没有人)[^。！？!?]{0,3}跟进|(?:还是|仲係|都)(?:没|冇)(?:有)?人(?:打电话|联系|回复|来|嚟|理|覆)|还没(?:有)?(?:人)?(?:来|处理|回复|解决)|什么时候(?:来|处理|解决)|进度|结果呢|回复呢|"
    "(?:修|弄|搞|办|处理)(?:好)?了没|好了没(?:有)?|来了没(?:有)?|(?:处理|办|做)到(?:哪|边)|到(?:哪|边)一步|而家点|點呀|点呀|"
    "怎么样了|咋样了|怎样了|去到边|到咗边|处理结果|补充[^。！？!?]{0,10}(?:材料|证据|说明|资料|视频|照片)|结案|重新(?:处理|派单|受理)|(?:根本|还是|都)没(?:有)?解决|(?i:\\bany (?:updates?|news|progress)\\b|\\bwhat(?:'s| is) the status\\b)|结果(?:怎么样|如何)|(?:现在|而家)(?:是)?(?:什么|咩|啥)(?:情况|进展|状况)|(?:是)?谁在(?:处理|跟进|管)|催催|催一下|帮(?:我)?查|能查到|查(?:一)?下|到(?:现在|而家)[^。！？!?]{0,6}(?:没|冇|未|仲係)|"
    "一直没(?:有)?(?:人)?(?:联系|来|处理|回复|回音)|有冇人理|有没有人(?:理|管)|取消|撤销|撤回|撤返|不用(?:处理|管|搞)了|唔使搞|"
    # "今天都第七天了", "你们有没有去管", "整咗未啊", "人呢", "想补充一下", "重新提交", "这就算处理完了", "究竟系边个部门",
    # "根本没人来过", "到现在还在打", "现在怎么办", "能改吗", "no updates", "check the status"
    "(?:现在|那现在|而家)?到底(?:怎么|咋|点样|点)(?:弄|搞|处理)|是(?:哪个|边个)[^。！？!?]{0,4}在(?:弄|管|处理|跟)|(?:怎么|如何|点样|在哪)补充|"
    "(?:接着|继续)跟(?:进|一下)?|(?:已经|都)[0-9一二三四五六七八九十两几]+(?:个)?(?:天|日|周|星期|礼拜|月)(?:了|喇|啦)|"
    "(?:今天|现在|而家)(?:都|已经|经已)?(?:过去|过了|过咗)?(?:第)?[0-9一二三四五六七八九十两几]+(?:天|日|个月|個月|个礼拜|個禮拜|个星期|周)了|(?:到底|究竟)(?:管不管|有没有人管|理不理|谁(?:管|负责|来管)|哪个(?:部门|单位)(?:管|负责))|(?:有没有|有冇)(?:人)?(?:去)?(?:管|处理|理|跟进)|"
    "(?:整|修|搞|处理|跟|做|办)(?:咗|好|掂)未|"
    # 2026-12-05 (residents_dev20): "帮我催下啦", "可以结了", "就系冇解决", "麻烦跟进一下", "请再次督办", "查询办理状态",
    # "撤了吧", "答复内容与事实不符", "从未接到过任何电话"
    "催(?:下|吓|促)|催一催|可以结(?:了|案|单)|有没(?:得|有)?人管|(?:好久|几时)(?:给我)?回(?:个)?话|(?:是不是|系咪)(?:没|冇)(?:有)?(?:派|处理|人管)|(?:需要|要|想)补充|"
    # disputed, withdrawn, added to, changed, asked when (residents_dev21)
    "(?:都|也)?算处理(?:咗|了|完)|(?:根本|还是|都)(?:冇|没)(?:有)?(?:变|改|来过|来现场)|不投诉了|唔投诉(?:喇|了)?|算了算了|快(?:点|啲)?派人|补充(?:下|吓)|改(?:成|为)匿名|"
    "什么时候(?:施工|动工|装|修|弄|安排)|重新(?:安排|检测|核实|派|测|立案|办理)|(?:对)?(?:答复|回复)?不满意|申请复核|有没有(?:提交)?成功|(?:没|冇)收到(?:受理)?(?:短信|回复|通知)|(?:就系|就是|还是|仲系|都系)(?:冇|没)(?:有)?解决|跟进一下|督办|查询[^。！？!?]{0,4}(?:状态|进度|结果)|撤了吧|"
    "(?:答复|回复)(?:的)?(?:内容)?[^。！？!?]{0,6}(?:不符|不实|不对)|(?:从未|从来没有?|没有?)接到(?:过)?(?:任何)?(?:电话|回访|回复)|(?:等|等了)[^。！？!?]{0,8}人呢|补充一下|想补充|上传补充|补充说明|重新提交|"
    "(?:就|便)?算(?:是)?(?:处理|办|搞)(?:完|好|掂)了|(?:究竟|到底)(?:系|是)(?:边个|哪个)部门|(?:根本|都|从来)(?:没|冇)(?:有)?人(?:来|嚟)(?:过|過)?|"
    "(?:还在|仍然|依然|仲系|仲係|仲喺)(?:打|吵|响|漏|坏|黑|烂|堆|停)|现在怎么办|(?:能|可以|点样)改(?:吗|嘛|唔)|"
    "(?i:\\bno updates?\\b|\\bcheck (?:the|on|my) (?:status|progress)\\b)|"
    "(?:每次|次次)(?:都)?(?:回复|说|话)(?:已|已经)?(?:处理|整改|解决)|这叫什么处理|撤(?:了|掉|咗)(?:吧|啦)?|帮我看看|查查|"
    # 2026-12-05 (residents_dev16, safety_dev16): "有信儿没", "后来就没消息了", "有没有派人去看过", "是否提交成功",
    # "想跟进返…加多啲资料", "到底在谁手上", "怎么就办结了", "转给哪个部门了", "多久会有结果", "有没有什么结论", "去了没有"
    "有信(?:儿)?(?:没|了|吗)|(?:来|去)?弄(?:了)?没得|一直没(?:有)?(?:人)?(?:打|回)(?:电话)?(?:来|过来)|卡在(?:哪|边)|怎么(?:还)?没(?:有)?(?:消息|下文|回音|动静)(?:了)?|"
    "告诉我结果|(?:再|重新)打(?:一下|一次|一遍)|(?:到现在|到而家|还|都)[^。！？!?]{0,6}(?:是)?怎么回事|有(?:没有)?回复|"
    # residents_dev18: "Has anyone looked into it?", "我一直在等电话", "一直显示处理中，还需要多久", "后来查了冇", "有人去处理了吗",
    # "是否已经立案？什么时候能收到结果"
    "(?i:has anyone (?:looked|dealt|checked|been)|(?:haven't|have not|never) heard (?:anything )?back|heard nothing)|一直(?:在)?等(?:你们的?)?(?:电话|回复|消息|回音|答复)|"
    "显示[“\"]?(?:处理中|办理中|已受理|待处理)|还(?:需要|要)(?:多久|多长时间)|(?:查|管|处理|去)(?:了|咗)(?:冇|没|未)|有人(?:去)?(?:处理|处里|看)(?:了)?(?:吗|没)|"
    "是否(?:已经)?(?:立案|受理|处理)|什么时候能(?:收到|有)(?:结果|回复|答复)|(?:都|仲|还|也)(?:没|冇)(?:有)?(?:消息|下文|音讯|回音|人联系|人覆)|咋回事|(?:后来|之后|然后)(?:就)?(?:没|冇)(?:有)?(?:消息|下文|音讯|动静|回音)|是不是还要等|还要等(?:多久|几天)|"
    "(?:有没有|有冇)(?:派)?(?:人)?(?:去|来)?(?:看|查|处理|管)(?:过)|(?:是否|有没有)(?:已经)?(?:提交|受理)成功|(?:没有|没|冇)(?:收到)?(?:受理|回执)(?:短信|通知)|"
    "跟进(?:返|番|一下)|(?:加|补)(?:多)?(?:啲|些|点|一些)?(?:资料|材料|证据)|(?:在|喺)(?:谁|边个)(?:手上|手里|度)|怎么就(?:办结|结案|关)(?:了)?|"
    "(?:转|派|交)(?:给|到)(?:了)?(?:哪个|哪|边个)(?:部门|单位)|多久(?:会|能|才)?有(?:结果|回复|答复)|(?:什么|咩)?结论|(?:去|来|上门)了没(?:有)?|"
    "有(?:没有)?(?:结果|消息|回音|答复|回复)(?:了)?(?:吗|没)|(?:修|弄|搞|办|处理|解决)(?:好)?了(?:吗|没|未|嘛)|(?:有没有|有冇)(?:被)?采纳|采纳了(?:吗|没)|(?:转|派|交)(?:了|咗)?(?:没有|没|未)|(?:处理|搞|跟进|办)(?:成|得)点|是不是(?:已经)?(?:修|处理|解决|办)(?:好)?了|(?:查|管|处理|修)(?:了|的)没(?:有)?")
# A ticket id, or its digits read out after the word for it (the recogniser drops or mangles "SZ").
# A ticket id: SZ, the date and the number (the dash often left out), or the same digits after the word for
# it, or alone — 14 digits that start with a date are no phone (11) or ID card (18) number.
_TICKET_ID = re.compile(r"SZ\d{8}-?\d{6}|(?:工单|单号|编号|单子|号码)[^0-9]{0,6}20\d{2}[01]\d[0-3]\d[-\s]?\d{3,6}|"
                        r"(?<![0-9])20\d{2}[01]\d[0-3]\d-?\d{6}(?![0-9])|"
                        # asked for by what it is, the digits a recogniser got nearly right ("查一下简多二零二六…")
                        r"(?:查|催|单|号)[^0-9]{0,6}20\d{10,13}(?![0-9])")
# Digits read out in Chinese ("二零二六一一一八…"): a run of six or more, as the ticket id cue reads them.
_CN_DIGIT_RUN = re.compile("[零〇一二三四五六七八九]{6,}")
_CN_DIGITS = str.maketrans("零〇一二三四五六七八九", "00123456789")


def _arabic(text: str) -> str:
    return _CN_DIGIT_RUN.sub(lambda m: m.group(0).translate(_CN_DIGITS), text)
# Small talk about the assistant itself ("你是医生吗", "你生日是什么时候", "你会唱歌吗"): not a city matter,
# whatever a catalogue word in it matches.
# Fortune telling and the like: no city service, whatever a catalogue word in it matches ("换工作").
_PLAINLY_OTHER = re.compile("八字|算命|算一卦|星座|运势|塔罗|解梦|风水|生辰|面相|手相|"
                            # which restaurant is good, a child's sums, what to buy (residents_dev16)
                            "(?:哪家|哪间|边间)[^。！？!?]{0,8}(?:好吃|好喝|早茶|火锅|餐厅)|(?:哪里|边度)[^。！？!?]{0,6}(?:好吃|好喝|饮早茶)|求解|(?:这道|一道)(?:数学)?题|下不下雨|会不会下雨|天气(?:怎么样|如何|好不好|预报)|(?:有|是)多(?:高|少米)|第一高楼|最高的楼|(?:写|帮我写)(?:一)?(?:篇|个)[^。！？!?]{0,10}(?:作文|请假条|情书|演讲稿)|"
                            "(?:作业|应用题)[^。！？!?]{0,8}(?:不会|怎么做|答案)|(?i:\\brecommend (?:a |an |some )?(?:good |cheap )?(?!doctor|hospital|school|lawyer))|"
                            "(?:推荐|买)[^。！？!?]{0,6}(?:耳机|手机|电脑|相机|口红|包包)|"
                            # a song's name, celebrity gossip, what to eat tonight (residents_dev17)
                            "(?:歌|曲子)[^。！？!?]{0,6}(?:叫什么|叫咩|名字)|教我(?:整|煮|做|炒|煲)|(?:整|煮|炒|煲)[^。！？!?]{0,6}(?:鸡|鱼|肉|菜|汤|饭)[^。！？!?]{0,4}(?:点样|怎么做)|首都(?:是|在)|顶流|吃瓜|(?:明星|爱豆)[^。！？!?]{0,6}(?:八卦|绯闻|恋情)|(?:食|吃)(?:咩|什么|啥)好")
_TO_BOT = re.compile("^(?:那)?(?:你|您)(?:是|叫|会|能不能|有没有|喜欢|多大|几岁|生日|在干|在做|吃|结婚|男|女|好像|觉得|知道|爸|妈|家)")
# Courtesies alone (the whole message, fillers and punctuation aside): which social intent they are.
_SOCIAL = (
    ("goodbye", re.compile("^(?:(?:好的|好|好了|好啦|嗯|收到|明白了?|知道了|懂了|不用了|唔使了|就这样(?:吧|啦)?|冇咁事|唔该晒?)*(?:谢谢|感谢|多谢)?(?:您|你)?(?:的)?(?:答复|帮助|帮忙)?(?:再见|拜拜|bye)+)$")),
    ("thank", re.compile("^(?:(?:好的|好|嗯|好嘞|好咧|ok|OK|收到|明白了?|知道了|懂了)*(?:谢谢|感谢|多谢|谢啦|谢了|唔该|辛苦了?)(?:你|您|你们|晒)?(?:的)?(?:答复|帮助|帮忙)?(?:了|啦)?)+"
                         "(?:(?:你们)?(?:工作人员|大家)?(?:也|都)?(?:不容易|辛苦了?))?$")),
    # an acknowledgement alone: "好的 知道了", "嗯嗯 收到" (a thumbs-up alone: _THANKS_EMOJI)
    ("thank", re.compile("^(?:哦+|噢+|喔+)?(?:好的|好|嗯+|好嘞|好咧|好滴|好哒|ok)?(?:收到|明白|知道|懂|了解)(?:了|啦|咯)?(?:好的|嗯+|ok)?$")),
    # "ok", "好滴", "okok" alone (residents_dev20)
    ("thank", re.compile("^(?:ok|okay|好滴|好哒)+$")),
    # thanks among other courtesies, in any order: "好好好 谢谢你啊闺女 没事了 挂了啊", "要得要得 谢谢了哈 拜拜",
    # "谢谢你们的帮助，问题已经解决了！" (residents_dev18)
    ("thank", re.compile("^(?=.*(?:谢|唔该|辛苦))(?:好的|好|嗯|好嘞|好咧|ok|收到|明白了?|知道了|懂了|要得|行|谢谢|感谢|多谢|谢啦|谢了|唔该|"
                         "辛苦了?|你们|你|您|晒|的|答复|帮助|帮忙|了|啦|哈|啊|呀|咯|闺女|姑娘|小姑娘|同志|没事了|挂了|问题|事情|已经|"
                         "解决了|搞定了|拜拜|再见|bye|"
                         # "非常感谢您的耐心解答，祝工作顺利！", "新年快乐，12345的工作人员辛苦了！" (residents_dev20)
                         "非常|十分|耐心|解答|祝|工作顺利|生活愉快|身体健康|(?:新年|节日|中秋|春节)快乐|12345|12349|热线|工作人员)+$")),
    # a holiday's wishes alone: "中秋快乐🥮", "端午安康！" (residents_dev21)
    ("greet", re.compile("^(?:祝(?:你|您|你们|大家)?)?(?:中秋|端午|春节|新年|元旦|国庆|节日|元宵|圣诞|冬至|重阳)(?:节)?(?:快乐|安康|愉快)(?:啊|呀|哦)?$")),
    # wishes with a goodbye or more wishes: "新年快乐🧧 祝你们工作顺利", "祝工作顺利，再见。" (residents_dev22)
    ("goodbye", re.compile("^(?=.*(?:快乐|安康|顺利|愉快|健康|如意))(?:(?:中秋|端午|春节|新年|元旦|国庆|节日|元宵|圣诞)(?:节)?(?:快乐|安康|愉快)|祝|你|您|你们|大家|"
                           "工作|生活|身体|万事|顺利|愉快|健康|如意|再见|拜拜|啦|哦)+$")),
    ("greet", re.compile("^(?:(?:喂|哈喽|嗨|hi|hey|hello|nihao|ni hao|nei ?hou|lei ?hou|你好|您好|早上好|下午好|晚上好|早晨|早晨呀|在吗|在不在|有人吗|有人在吗|喺唔喺度|喺度吗|有冇人|请问|(?:是)?是(?:不是)?(?:12345|12349)(?:热线)?)(?:啊|呀|吗)?)+$")),
)
_SOCIAL_FILLER = re.compile(r"[\s，,。.!！?？~～…、]+")
_CITY_WORDS = re.compile(
    "社区|街道|居委|小区|政府|部门|[^结布格饭]局|派出所|城管|物业|业主|居民|市民|公交|地铁|学校|医院|社保|医保|公积金|户口|户籍|"
    "居住证|身份证|驾驶证|护照|通行证|补贴|低保|养老|残疾|办证|办事|窗口|12345|热线|市长|区长|书记|村委|村民|房东|租户|工资|"
    "欠薪|工厂|工地|马路|道路|路口|河道|河涌|河水|水库|公园|停车|车位|充电桩|电梯|楼道|邻居")


@dataclass(frozen=True)
class Cues:
    complaint: int = 0      # distinct complaint / problem words
    request: int = 0        # asks someone to act ("请…处理", "希望…解决", a letter to 领导)
    question: int = 0       # asks how / where / whether
    suggestion: bool = False
    human: bool = False
    human_plain: bool = False   # a person asked for plainly enough to count in a long letter
    follow_up: bool = False
    refers_back: bool = False   # asks about the resident's own earlier report, without its id
    own_ticket: bool = False    # speaks of "my ticket" (我的工单, 工单号…) and asks about it
    ticket_id: bool = False
    city_words: int = 0     # words of public life: 社区, 物业, 公交, 社保…
    social: str = ""        # the message is only a courtesy: greet / thank / goodbye
    to_bot: bool = False    # small talk about the assistant itself
    mortal: bool = False    # a word of death, harm, an edge or a farewell (死, 药, 血, 跳, 楼顶, 写好, 再见…): see CRISIS_CONTEXT_CHARS
    send_someone: bool = False  # an agency asked to send its people ("能不能让救助站的人来看看")
    own_document: bool = False  # one's own card or certificate broken or lost ("社保卡磁条坏了…去哪里换")
    plainly_other: bool = False  # fortune telling and the like (八字, 星座, 风水): no city service
    distress: bool = False  # low mood said outright (好累…没有意义, 没人懂我, 撑不住了), asking for nothing: a person

    @property
    def problem(self) -> bool:
        return self.complaint > 0 or self.request > 0 or self.suggestion or self.send_someone


# A word of now: the sentence it is in tells what is happening as the resident writes.
_PRESENT = re.compile("刚刚|刚才|现在|正在|还在|此刻|这会儿|眼下|而家|依家|宜家|仲係|仲喺|已经过去")
_SENTENCE_END = re.compile(r"[。！？!?\n]+")
PRESENT_SENTENCES = 3   # the sentence with the word of now and the two after it
PRESENT_LEAD = 30       # characters before the word of now, within its sentence
PRESENT_CHARS = 90      # a part longer than this reads like the letter again (most WeChat pastes have no 。)
MAX_PRESENT_PARTS = 6


def present_parts(text: str) -> list[str]:
    """The parts of a letter that say what is happening now: from a word of now (at most PRESENT_LEAD
    characters earlier, within its sentence) to the end of the second sentence after it, at most
    PRESENT_CHARS; at most MAX_PRESENT_PARTS parts, none starting inside the one before.

    >>> present_parts("上周反映过积水。今天又下暴雨，刚才车开进隧道熄火了。水在往上涨。")
    ['今天又下暴雨，刚才车开进隧道熄火了。水在往上涨。']
    """
    parts: list[str] = []
    covered = -1
    for now in _PRESENT.finditer(text):
        if now.start() < covered:
            continue
        sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, now.start())), default=0)
        start = max(sentence_start, now.start() - PRESENT_LEAD)
        end = min(len(text), start + PRESENT_CHARS)
        for n, m in enumerate(_SENTENCE_END.finditer(text, now.end(), end), start=1):
            if n == PRESENT_SENTENCES:
                end = m.end()
                break
        parts.append(text[start:end])
        covered = end
        if len(parts) == MAX_PRESENT_PARTS:
            break
    return parts


_NORTHERN_I = str.maketrans({"俺": "我", "咱": "我"})


# One's own card or certificate broken, lost, expired or refused ("社保卡 磁条坏了 刷不了 要去哪里换"): what is
# wrong is the resident's own document, and the question is the procedure to replace it (residents_dev23).
_DOCUMENTS = "社保卡|医保卡|身份证|驾驶证|驾照|行驶证|护照|通行证|户口本|营业执照|深圳通|居住证|结婚证|出生证|残疾证|老人卡|敬老卡|长者卡|港澳通行证"
_OWN_DOCUMENT = re.compile(
    "(" + _DOCUMENTS + ")"
    "[^。！？!?]{0,12}(?:坏|丢|掉了|不见|过期|到期|刷不了|用不了|消磁|磨损|被偷|烂了)[^。！？!?]{0,24}"
    "(?:去哪(?:里|儿)?|在哪(?:里|儿)?|怎么|如何|能不能|可以)[^。！？!?]{0,6}(?:换|补|办|重新办|申领|挂失)")


def own_document(text: str) -> str:
    """What to ask the catalogue for a card or certificate of the resident's own that is broken, lost or
    expired and asked how to replace ("社保卡磁条坏了…要去哪里换" → "社保卡补办", "身份证过期了…能不能上门办"
    → "身份证到期换证"), or ""."""
    found = _OWN_DOCUMENT.search(text)
    if not found:
        return ""
    expired = "过期" in found.group(0) or "到期" in found.group(0)
    return found.group(1) + ("到期换证" if expired else "补办")


def cues_of(text: str) -> Cues:
    """The cues in an already normalised text (bounded by the caller)."""
    text = text.translate(_NORTHERN_I)  # "找个人来跟俺说": the northern first person read as 我
    return Cues(
        complaint=len(set(_COMPLAINT.findall(text))),
        request=len(set(_REQUEST.findall(text))),
        question=len(set(_QUESTION.findall(text))),
        suggestion=bool(_SUGGESTION.search(text)),
        human=bool(_HUMAN.search(text)),
        human_plain=bool(_HUMAN_PLAIN.search(text)),
        follow_up=bool(_FOLLOW_UP.search(text)),
        refers_back=bool(_EARLIER_REPORT.search(text)) and bool(_ASKS_ABOUT_IT.search(text) or (
            _ASKS_AT_END.search(text) and _EARLIER_DATED.search(text))),
        own_ticket=bool(_OWN_TICKET.search(text)) and bool(_ASKS_ABOUT_IT.search(text) or _FOLLOW_UP.search(text)
                                                          or _QUESTION.search(text)),
        ticket_id=bool(_TICKET_ID.search(_arabic(text))),
        city_words=len(set(_CITY_WORDS.findall(text))),
        social=_social(text),
        to_bot=bool(_TO_BOT.match(text)) and len(text) <= SHORT_CHARS,
        plainly_other=bool(_PLAINLY_OTHER.search(text)),
        mortal=bool(_MORTAL.search(text)),
        send_someone=bool(_SEND_SOMEONE.search(text)),
        own_document=bool(_OWN_DOCUMENT.search(text)),
        distress=bool(_DISTRESS.search(text)) and (not _ASKS_FOR.search(text) or bool(_COMPANY.search(text))),
    )


_SEND_SOMEONE = re.compile("(?:能不能|可不可以|能否|麻烦|请|希望)(?:你们)?(?:让|叫|派|安排)[^。！？!?]{0,10}?(?:的人|人员|工作人员|执法人员|师傅)?"
                           "(?:来|过来|去|上门)(?:看看|看一下|处理|查|管|修|检查|核实)|"
                           # "能不能派人检查一下安全"
                           "(?:能不能|可不可以|能否|麻烦|请|希望)(?:你们)?派(?:个|些)?(?:人|专人|人员)(?:来|过来|去|上门)?(?:看看|看一下|处理|查|管|修|检查|核实)|"
                           # "想搵人上門睇下"
                           "(?:想|要|可唔可以|可以)?(?:搵|揾|叫|派)(?:个|個)?(?:人|师傅|師傅)(?:上门|上門|嚟|过嚟|過嚟)(?:睇|看|检查|檢查|整)")


_MORTAL = re.compile("死|活着|活不|不活|不想活|跳|药|血|割|刀|遗|楼顶|天台|桥|江边|河边|海边|解脱|结束|永别|最后一|绳|炭|伤害自己|离开这|不在了|"
                     # a farewell, the last arrangements, the edge as residents put it (outside authors' indirect crises)
                     "麻烦(?:你们|任何人|到任何人|谁)|(?:不用|不会|唔会)再|写好|托给|托付|没什么(?:好)?(?:放不下|牵挂|留恋|遗憾)|送(?:完|人|给)|分(?:晒|完)|存折|密码|保险单|交代|"
                     "陪(?:她|他|佢)|拜拜|再见|告别|撑不|撑落去|撑下去|就这样吧|就这样去了|窗|坐着|腿在外面|胶带|点上|整瓶|一整平|睡过去|去了也好|不吃了")


_DISTRESS = re.compile(
    "没(?:有)?(?:什么)?意义|好难受|很难受|难受死|好痛苦|很痛苦|太痛苦|绝望|崩溃|撑不住|坚持不(?:住|下去)|没(?:有)?人(?:懂|理解|在乎|关心)我?|"
    "好孤独|很孤独|抑郁|想哭|活得(?:好|很|太)?累|心(?:好|很|太)累|好累好累|没有希望|看不到希望|活着没意思|不知道(?:还能|该)?(?:跟谁说|怎么活)|"
    "心里(?:好|很)?苦|熬不(?:住|下去)|揾唔到人倾|冇人明白我|心情(?:很|好|特别|一直)?低落|孤单|寂寞|"
    "没(?:什么|有)?朋友|(?:没|冇)(?:有)?人(?:跟我|陪我|和我|同我)(?:说|讲|倾|聊)|一整天都没人|"
    "(?:没|冇)(?:个|一个)?人(?:说话|讲话|聊天|倾偈)|一个人都不认识|(?:谁|乜谁)都不认识|"
    "(?i:\\b(?:so|really) (?:lonely|depressed|hopeless)\\b|\\bno one (?:understands|cares)\\b)")


# Low mood beside a question for something ("我有抑郁症…想问问社区有没有免费的心理咨询"): the question is the matter.
# ... unless what they ask for is someone to talk with ("你们那边有没有人能陪我聊一会儿").
_COMPANY = re.compile("陪我|(?:跟|和|同)我(?:聊|说说|讲讲|倾)|聊(?:聊|一会|几句)|说说话|讲讲话")
_ASKS_FOR = re.compile("想问|问问|问一下|请问|咨询|有没有|在哪|哪里|推荐|怎么(?:申请|办理|预约)")


# Emoji that say thanks or OK on their own ("👍👍", "🙏").
_THANKS_EMOJI = re.compile("^[\U0001F44D\U0001F44C\U0001F64F\U0001F91D\U0001F60A\U0001F642\U0001F339\u2764\u270C\uFE0F]+$")


_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")


def courtesy(text: str) -> str:
    """Which courtesy ``text`` is and nothing else (greet / thank / goodbye), or "" — Cues.social of it."""
    return _social(text.translate(_NORTHERN_I))


def _social(text: str) -> str:
    bare = _SOCIAL_FILLER.sub("", text.lower())
    if not bare or len(bare) > GREETING_CHARS:
        return ""
    if _THANKS_EMOJI.match(bare):
        return "thank"
    # Emoji beside the words say the same again ("好滴 明白了🙏", "nei hou 😃"); the words decide.
    bare = _EMOJI.sub("", bare) or bare
    return next((name for name, pattern in _SOCIAL if pattern.match(bare)), "")


# --- evidence and decision ----------------------------------------------------------------------

@dataclass(frozen=True)
class Alarm:
    number: str           # 110 / 119 / 120
    kind: str
    crisis: bool
    source: str           # text | alternative | phonetic
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """Everything but the NLU, gathered by the router (JSON-safe both ways: ``to_dict``/``from_dict``)."""

    chars: int
    cues: Cues = field(default_factory=Cues)
    alarm: Optional[Alarm] = None
    danger: dict[str, float] = field(default_factory=dict)   # none / emergency / crisis
    city: Optional[float] = None                              # P(city matter); None: no model
    service: float = 0.0                                      # best catalogue score
    place: bool = False
    crisis_number: str = "110"                                # whom to call for a crisis the rules did not name
    danger_number: str = "110"                                # whom to call for an emergency only the model heard
    answer: str = ""              # an everyday short answer (router.domain.answers): decline / same_number / agree
    offered: tuple[str, ...] = ()  # intents of the buttons the bot offered in its last turn ("skip", "affirm")
    set_aside: tuple[str, ...] = ()  # danger words the rules found and judged past / hazard / news / report
    danger_now: dict[str, float] = field(default_factory=dict)  # a letter's present parts (present_parts): the highest
    spoken: bool = False          # heard by a speech recogniser (the voice channel): its words may not be the caller's
    version: int = EVIDENCE_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        if not isinstance(data, dict) or data.get("version") != EVIDENCE_VERSION:
            raise ValueError("unknown evidence version")
        alarm = data.get("alarm")
        return cls(
            chars=int(data.get("chars") or 0),
            cues=Cues(**{k: v for k, v in (data.get("cues") or {}).items() if k in Cues.__dataclass_fields__}),
            alarm=Alarm(**{**alarm, "matched": tuple(alarm.get("matched") or ())}) if isinstance(alarm, dict) else None,
            danger={str(k): float(v) for k, v in (data.get("danger") or {}).items()},
            city=None if data.get("city") is None else float(data["city"]),
            service=float(data.get("service") or 0.0),
            place=bool(data.get("place")),
            crisis_number=str(data.get("crisis_number") or "110"),
            danger_number=str(data.get("danger_number") or "110"),
            answer=str(data.get("answer") or ""),
            offered=tuple(str(o) for o in data.get("offered") or ()),
            set_aside=tuple(str(o) for o in data.get("set_aside") or ()),
            danger_now={str(k): float(v) for k, v in (data.get("danger_now") or {}).items()},
            spoken=bool(data.get("spoken")),
        )


@dataclass(frozen=True)
class NluResult:
    name: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_parse(cls, parsed: dict[str, Any]) -> NluResult:
        """From a Rasa parse. The pipeline's last step may have replaced ``intent`` with its own decision;
        the NLU's reading is then under ``nlu_intent`` (bot.components.intake), and that is what counts."""
        intent = parsed.get("nlu_intent") or parsed.get("intent") or {}
        ranking = tuple((str(r.get("name")), float(r.get("confidence") or 0.0))
                        for r in parsed.get("intent_ranking") or [] if isinstance(r, dict))
        return cls(str(intent.get("name") or "nlu_fallback"), float(intent.get("confidence") or 0.0), ranking)

    def score(self, name: str) -> float:
        """The NLU's confidence in ``name``, also when FallbackClassifier put nlu_fallback first."""
        if self.name == name:
            return self.confidence
        return next((c for n, c in self.ranking if n == name), 0.0)


@dataclass(frozen=True)
class Decision:
    outcome: str                 # the contract's outcome
    intent: str                  # the intent the dialogue acts on
    confidence: float
    reasons: tuple[str, ...]
    emergency_number: Optional[str] = None
    crisis: bool = False
    ask: bool = False            # thin evidence: the dialogue asks a short question with choices

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "intent": self.intent, "confidence": round(self.confidence, 4),
                "reasons": list(self.reasons), "emergency_number": self.emergency_number,
                "crisis": self.crisis, "ask": self.ask}


def decide(nlu: NluResult, ev: Evidence) -> Decision:
    """The one decision on a message; see the module docstring for the order of the questions."""
    short = ev.chars <= SHORT_CHARS
    letter = ev.chars >= LETTER_CHARS
    if letter:
        # A letter is read by its evidence: DIET learnt from chat messages and reads a letter poorly,
        # and the API need not wait for it (POST /api/v1/triage does not ask the NLU about letters).
        nlu = NluResult("letter", 0.0)
    cues = ev.cues
    p_crisis = ev.danger.get("crisis", 0.0)
    p_emergency = ev.danger.get("emergency", 0.0)
    modelled = bool(ev.danger)  # without the danger model, the NLU's word on danger stands alone
    city = ev.city if ev.city is not None else 0.0

    # 1. Danger now. A safety word heard only by putting it back into one of the recogniser's other
    # guesses ("出身就明丢了" → 救命) counts when the danger model or the NLU hears danger too.
    # So does a bare call for help ("救命") put back into the best transcript of a turn with more in it:
    # "出生医协就名上孩子名字打错了一个字" is a birth certificate with a typo, not 救命. A short cry is never
    # second-guessed.
    weak_alarm = (ev.alarm is not None and modelled
                  and (ev.alarm.source == "alternative_phonetic"
                       or (ev.alarm.source == "phonetic" and ev.alarm.kind == "call" and ev.chars >= CALL_CONTEXT_CHARS))
                  and p_crisis + p_emergency < ALTERNATIVE_PHONETIC_FLOOR
                  and max(nlu.score("emergency"), nlu.score("self_harm")) < NLU_SURE)
    if ev.alarm is not None and not weak_alarm:
        intent = "self_harm" if ev.alarm.crisis else "emergency"
        return Decision("emergency", intent, 1.0, (f"rules:{ev.alarm.kind}:{ev.alarm.source}",),
                        ev.alarm.number, ev.alarm.crisis)
    nlu_crisis = nlu.score("self_harm")
    # The NLU's self_harm alone is no evidence where the danger model reads the text: DIET calls much
    # everyday sadness self_harm (bench/results/intake.md), the model and the rules separate them better.
    # Only the model hears a crisis while the resident plainly asks for a person ("别再给我推链接了，我就想和
    # 真人聊两句", read as a crisis at 0.85): the person, who hears the rest.
    # Typed, the model alone names a crisis only beside a word of death, harm, an edge or a farewell
    # (Cues.mortal): posts of low mood without one ("好累，继续好难", "没有人懂我，每天都很痛苦") read as a
    # crisis at 0.8 and more (CRISIS_CONTEXT_CHARS). Heard on the phone, the words may be garbled ("程不下去" for
    # 撑不下去), and the model's reading of a turn of CRISIS_CONTEXT_CHARS or more stands alone.
    worded = cues.mortal or (ev.spoken and ev.chars >= CRISIS_CONTEXT_CHARS)
    # (Nor where the turn is only a courtesy: "不用了，就这样吧，再见" at the end of a call, read as a crisis at 0.88.)
    if (p_crisis >= CRISIS_DETECTOR and ev.chars >= DETECTOR_MIN_CHARS and not cues.human_plain and not cues.social
            and worded) or (
            not modelled and nlu_crisis >= NLU_SURE):
        return Decision("emergency", "self_harm", max(p_crisis, nlu_crisis), (f"detector:crisis:{p_crisis:.2f}",),
                        ev.crisis_number, True)
    # Only the model hears danger while the resident asks for a person ("听不懂，找个人来跟我说"): the person.
    if not letter and not ev.set_aside and not cues.human and ev.chars >= DETECTOR_MIN_CHARS and (
            p_emergency >= EMERGENCY_DETECTOR
                       or (p_emergency >= EMERGENCY_WITH_NLU and nlu.score("emergency") >= NLU_SURE)
                       or (not modelled and nlu.score("emergency") >= NLU_SURE)):
        # The model hears danger the rules could not name: the service its words point to (fire or
        # rescue 119, a body in trouble 120), else the police (110), who dispatch the others.
        return Decision("emergency", "emergency", p_emergency, (f"detector:emergency:{p_emergency:.2f}",),
                        ev.danger_number)

    # A letter with danger now told in the middle of it ("本来想反映…刚才就在前面，一辆小车撞到护栏上，司机头在流血").
    if letter and ev.danger_now:
        now_crisis, now_emergency = ev.danger_now.get("crisis", 0.0), ev.danger_now.get("emergency", 0.0)
        if now_crisis >= CRISIS_DETECTOR and now_crisis > now_emergency:
            return Decision("emergency", "self_harm", now_crisis, (f"detector:letter_now:crisis:{now_crisis:.2f}",),
                            ev.crisis_number, True)
        if now_emergency >= LETTER_NOW_DETECTOR:
            return Decision("emergency", "emergency", now_emergency,
                            (f"detector:letter_now:emergency:{now_emergency:.2f}",), ev.danger_number)

    # 2. An everyday answer to the question just asked: "算了" / "不用了" where "跳过" was offered skips
    # that question (not the whole report); "就这个号" / "可以" where "可以" was offered agrees.
    if ev.answer.startswith("button:") and ev.answer[7:] in ev.offered:
        return Decision(OUTCOME_OF_INTENT.get(ev.answer[7:], "ticket"), ev.answer[7:], 1.0, ("answer:button",))
    if ev.answer == "decline" and "skip" in ev.offered:
        return Decision("ticket", "skip", 1.0, ("answer:decline",))
    if ev.answer in ("same_number", "agree") and "affirm" in ev.offered:
        return Decision("ticket", "affirm", 1.0, (f"answer:{ev.answer}",))

    # 3. An existing ticket.
    status_intent = nlu.name if nlu.name in STATUS_INTENTS else None
    if cues.ticket_id and not (cues.problem and not cues.follow_up):
        return Decision("ticket_status", status_intent or "check_ticket", 1.0, ("ticket_id",))
    if (cues.refers_back or cues.own_ticket) and not letter and not cues.human:
        return Decision("ticket_status", status_intent or "check_ticket", 0.9, ("refers_back",))
    if status_intent and nlu.confidence >= NLU_LIKELY and not letter and not cues.human and (
            cues.follow_up or (nlu.confidence >= NLU_SURE and ev.chars <= 20
                               and (ev.city is None or city >= CITY_CLEAR))):
        return Decision("ticket_status", status_intent, nlu.confidence, ("nlu:status",))

    # 4. A person.
    # (The NLU alone hears a person asked for where the resident asks an agency to send its people — "能不能
    # 让救助站的人来看看" — that is work for the agency: a ticket.)
    nlu_person = nlu.name == "request_human" and nlu.confidence >= NLU_SURE and not cues.send_someone
    if ((nlu_person or cues.human) and not letter
            or cues.human_plain) and (not cues.to_bot or cues.human_plain):
        # ("你是真人吗" is small talk about the assistant; "你是机器人吧？我要跟活人说话" asks for a person)
        return Decision("handoff", "request_human", max(nlu.confidence, 0.9 if cues.human else 0.0), ("asks_for_person",))

    # 5. Greetings and thanks, with nothing else in them.
    plain = not (cues.problem or cues.city_words or ev.place or ev.service >= SERVICE_FLOOR)
    if nlu.name in SOCIAL_INTENTS and nlu.confidence >= NLU_LIKELY and short and plain:
        return Decision("greeting", nlu.name, nlu.confidence, ("nlu:social",))
    # (the courtesies are the whole message, at most GREETING_CHARS once spaces and fillers are gone, so a city
    # word in it can only be the hotline's number: "喂 喂 有人吗 是12345吗")
    if cues.social and not (cues.problem or ev.place or ev.service >= SERVICE_FLOOR):
        # "您好。", "在吗", "喂 有人吗", "谢谢，再见": nothing but the courtesy
        return Decision("greeting", cues.social, 1.0, ("cues:social",))

    # Despair, and nothing to report: a person talks with them (the operator can refer them to the
    # community's 心理服务室) — neither "帮不上忙", nor a ticket form, nor the emergency numbers. Heard in the
    # words (好累…没有意义, 没人懂我, 撑不住了), or read by the model without a word of harm (Cues.mortal).
    if not letter and not cues.problem and not ev.place and ev.service < SERVICE_FLOOR and not ev.set_aside and (
            cues.distress or (p_crisis >= CRISIS_DETECTOR and ev.chars >= CRISIS_CONTEXT_CHARS)):
        reason = f"detector:distress:{p_crisis:.2f}" if p_crisis >= CRISIS_DETECTOR else "cues:distress"
        return Decision("handoff", "request_human", max(p_crisis, 0.6), (reason,))

    # 6. Not a city matter — only when the signals agree. Concrete evidence of city life: a place, a
    # problem or a request, words of public life, a catalogue item. Strong evidence: a letter, the
    # city model sure, a good catalogue item, a complaint with a request, a place with a problem.
    concrete = ev.place or cues.problem or cues.city_words > 0 or ev.service >= SERVICE_FLOOR
    strong = (letter or city >= CITY_SURE or ev.service >= SERVICE_STRONG or cues.complaint + cues.request >= 2
              or (ev.place and (cues.problem or city >= CITY_CLEAR)))
    # (a place does not make it a city matter: "福田哪家早茶好吃")
    # (a suggestion asked for is no problem reported: "今晚唔知食咩好，俾啲建议啦"; nor is a child's sum a short message)
    if cues.plainly_other and not (cues.complaint or cues.request or cues.send_someone) and ev.chars <= PLAIN_OTHER_CHARS:
        return Decision("out_of_scope", "out_of_scope", 0.9, ("plainly_other",))
    says_other = nlu.name in ("out_of_scope", "nlu_fallback", *SOCIAL_INTENTS, *FORM_ANSWER_INTENTS)
    if says_other:
        sure_other = nlu.confidence >= NLU_SURE and nlu.name not in ("nlu_fallback", *FORM_ANSWER_INTENTS)
        if (sure_other and short and not strong) or not (concrete or city >= CITY_CLEAR):
            # Unclear words (nlu_fallback) stay unclear: the dialogue asks again with choices, then a person.
            keep = nlu.name if nlu.name in ("out_of_scope", "nlu_fallback", *FORM_ANSWER_INTENTS) else "out_of_scope"
            return Decision("out_of_scope", keep, nlu.confidence, ("nothing_of_city_life",))
    elif short and (cues.to_bot or not concrete) and ev.city is not None and city < CITY_CLEAR:
        # Only the NLU says it is a city matter, and the city model does not agree. An unsure NLU: the
        # dialogue asks what the resident wants (nlu_fallback) rather than decline.
        unsure = nlu.confidence < NLU_LIKELY
        return Decision("out_of_scope", "nlu_fallback" if unsure else "out_of_scope", 1.0 - city,
                        ("city_model:other",), ask=unsure)

    # 7. A city matter: a service question, or a ticket.
    asks_how = cues.question > 0 or nlu.name == "ask_service"
    complaint_led = (cues.complaint + cues.request >= 2 or (letter and cues.problem) or cues.send_someone
                     or cues.suggestion) and not cues.own_document
    service_ok = ev.service >= SERVICE_FLOOR
    if service_ok and asks_how and not complaint_led:
        conf = max(ev.service, nlu.score("ask_service"))
        return Decision("service_item", "ask_service", conf, (f"service:{ev.service:.2f}",))
    if nlu.name == "ask_service" and nlu.confidence >= NLU_SURE and not complaint_led and not letter and (
            ev.city is None or city >= CITY_UNLIKELY):
        # The NLU is sure it is a service question the catalogue does not know: answer as one (the
        # action says what it found, or offers a person).
        return Decision("service_item", "ask_service", nlu.confidence, ("nlu:ask_service",))
    reasons = []
    if nlu.name == "report_problem":
        reasons.append("nlu:report")
    if cues.problem:
        reasons.append("cues:problem")
    if city >= CITY_CLEAR:
        reasons.append(f"city_model:{city:.2f}")
    if ev.place:
        reasons.append("place")
    thin = (nlu.name not in ("report_problem",) and not cues.problem and city < CITY_CLEAR
            and not letter and not ev.place)
    if nlu.name in FORM_ANSWER_INTENTS:
        # A bare answer ("南山区粤海街道", "是的"): the dialogue keeps the NLU's intent for its form;
        # statelessly it is a report of something at that place — or nothing without a place or problem.
        if not (ev.place or cues.problem or letter or city >= CITY_SURE):
            return Decision("out_of_scope", nlu.name, nlu.confidence, ("form_answer",))
        if nlu.name == "inform" and cues.complaint and ev.place and city >= CITY_CLEAR:
            # A place *and* what is wrong there ("莲花一村门口的井盖松动了"): a whole report, not just the
            # answer to "where?". An "answer:" reason is the decision's own reading of what the NLU took
            # for a form answer, and the dialogue acts on it (bot.components.intake); inside the ticket
            # form report_problem is still taken as the answer to its question.
            return Decision("ticket", "report_problem", max(city, nlu.confidence),
                            (*reasons, "answer:whole_report"))
        return Decision("ticket", nlu.name, nlu.confidence, (*reasons, "form_answer"), ask=thin)
    # Thin evidence: the dialogue asks what the resident wants (nlu_fallback offers the choices).
    return Decision("ticket", "nlu_fallback" if thin else "report_problem", max(nlu.score("report_problem"), city),
                    tuple(reasons) or ("city_matter",), ask=thin)
