"""Detects emergencies in a resident's message, before any classifier is asked.

An emergency is danger to life or property *now*: fire, smoke, a gas smell, someone unconscious or
not breathing, violence in progress, drowning, people trapped in a lift and in distress. The
resident must be told at once whom to call (119 fire / 120 ambulance / 110 police) and the message
is never ticketed as ordinary work. Suicide and self-harm words are a crisis (`is_crisis`): the
reply gives crisis support, and 110 because police answer people in immediate danger of suicide —
or 120 when the harm is already done (pills taken, wrists cut, bleeding).

Errs on the side of safety: a single trigger word is enough. Only a few contexts take a trigger
back: a negation right before it ("没有着火"), cooking fumes ("油烟"), and complaints about a past
call-out ("120上周来得太慢了", "上次着火消防来晚了，我要投诉"). Mentioning a service ("消防安全检查")
or a chronic fault ("电梯坏了好几天了") triggers nothing because no trigger word matches.

Pure: standard library plus router.domain.normalise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from router.domain.normalise import normalise

__all__ = ["Emergency", "EmergencyNumber", "assess", "calm", "crisis_number", "danger_number", "detect", "prepare",
           "tells_past"]

EmergencyNumber = Literal["110", "119", "120"]


@dataclass(frozen=True)
class Emergency:
    """What the detector found: whom to call, what kind, and the words that decided it."""

    number: EmergencyNumber
    kind: str  # fire|sparks|gas|smoke|explosion|trapped|collapse|medical|violence|afraid|drowning|missing|self_harm|call
    is_crisis: bool
    matched: tuple[str, ...]

    @property
    def service(self) -> str:
        """The emergency_type entity value the bot uses: fire | medical | police."""
        return {"119": "fire", "120": "medical", "110": "police"}[self.number]


# (kind, number, pattern). Order matters only for which kind is reported first when several match;
# the most life-threatening kinds come first.
_RULES: list[tuple[str, EmergencyNumber, re.Pattern[str]]] = [
    ("self_harm", "110", re.compile(
        "(?i:\\bkill(?:ing)? myself\\b|\\bend(?:ing)? my (?:own )?life\\b|\\bwant(?:ed)? to die\\b|\\bend it all\\b|"
        "\\b(?:on|at) the (?:edge|roof|rooftop|bridge|ledge)\\b[^.!?]{0,80}\\bgoodbye\\b|\\btell (?:someone|somebody|you) goodbye\\b)|"
        "自杀|自尽|轻生|寻死|不想(?:再)?活|想去死|(?:想|要|准备)跳下去|活不下去|不活了|活着没意思|活着太累|想死|要去死|去死了|死了算了|"
        "死了就解脱|一了百了|结束(?:自己的)?生命|割腕|割(?:了)?手腕|上吊|烧炭(?![，,]?(?:取暖|烤火))|跳楼自杀|想跳楼|准备跳楼|要跳楼|(?:去|会|就|要)跳楼|"
        "从楼上跳下去|(?:吃|吞|服)(?:了)?[^，。,.!?！？]{0,6}安眠药|喝(?:了)?[^。.!?！？]{0,12}(?:农药|百草枯|敌敌畏)|"
        "(?:吃|吞|服)(?:了|下)[^，。,.!?！？]{0,4}(?:整瓶|一瓶|半瓶|一把|一大把|很多|好多|一整板|整板)(?:的)?药|伤害自己|自残|写好遗书|遗书|永别了|"
        # indirect: the means gathered, the goodbye said, the end named
        "(?:安眠药|药|农药|炭|木炭|绳子?)[^，。,.!?！？]{0,6}(?:攒|存|买|备|准备)(?:了|好|够)|(?:攒|存|买|备|准备)(?:了|好|够)[^，。,.!?！？]{0,8}(?:安眠药|农药|炭|绳)|"
        "(?:炭|煤炭|木炭)[^，。,.!?！？]{0,4}(?:点上|点着|点燃)|(?:门窗|窗户)[^，。,.!?！？]{0,4}(?:封好|封死|关死)|(?:反锁|敲门|敲不开|叫不应)[^。!?！？]{0,30}(?:门缝|窗缝)[^。!?！？]{0,10}(?:贴|塞|封)(?:了|满|住|着)?[^，。,.!?！？]{0,4}(?:胶带|胶布|胶袋|湿毛巾)|(?:门缝|窗缝)[^。!?！？]{0,10}(?:贴|塞|封)(?:了|满|住|着)?[^，。,.!?！？]{0,4}(?:胶带|胶布|胶袋|湿毛巾)[^。!?！？]{0,30}(?:反应都没有|没(?:有)?(?:人)?(?:应|反应|开门|回应)|叫不应|敲不开)|"
        "(?:农药|安眠药|敌敌畏|百草枯)[^。!?！？]{0,12}(?:喝了就|吃了就|喝下去|吞下去|今晚|就不(?:拖累|麻烦|用))|"
        "不(?:想|会)?(?:再)?拖累|(?:以后|再也)?不用(?:再)?(?:操心|担心|管)我|(?:以后|再也)不会(?:再)?(?:麻烦|烦|打扰)(?:大家|你们)|"
        "(?:先|要|就要|准备)走了[^，。,.!?！？]{0,10}(?:以后|照顾|对不起|再见|保重)|对不起[^。!?！？]{0,12}(?:先走了|走了以后)|"
        "最后一次(?:给你们)?(?:留言|说话|打电话)|(?:今晚|今天晚上|今天)(?:就)?(?:离开|结束|走)(?:吧|了)?(?:这个世界)?(?=$|[，。,.!?！？\\s])|"
        "(?:想|要|会|打算|准备|决定|就|该|希望|计划)[^，。,.!?！？]{0,8}离开(?:这个|这)世界|"
        "把[^，。]{0,8}(?:药|安眠药)[^，。]{0,4}(?:都|全)?(?:吃|吞|喝)(?:了|下去|光)|把(?:一整瓶|一瓶|整瓶|一整板|一板|一大把|所有的?|全部的?)[^，。,.!?！？]{0,2}安眠药|(?:想|要|就)跳(?:了|下去)?(?=$|[，。,.!?！？\\s])|"
        "死去的方式|(?:还完钱|做完|了结)[^，。]{0,4}(?:再|就)死|睡(?:着)?(?:了)?(?:就)?(?:再也)?不(?:要)?醒|如何割腕|死在一个|"
        "结束这一切|结束吧|解脱(?:了)?吧|快解脱|不想(?:再)?醒|唔好再醒|不要再醒|永远睡|"
        # the means, the method, the edge — said by the writer
        "跳(?:楼|河|海|崖|江|湖|桥|轨|下去|下来)|(?:死掉|去死|死一死|吊死|吊颈|割脉|割胳膊|刀片|手术刀|安乐死|遗像|另一个世界见|下地狱|"
        "再见(?:了)?(?:这个)?世界|开煤气|(?:怎么|怎样)死|死(?:得|的)(?:很)?(?:难看|痛苦|快)|不想活|活着(?:有)?(?:什么|啥)意义|"
        "不抱(?:任何)?希望(?:活着|了)|(?:活|熬)不(?:下去|过)(?:今晚|明天|这)|结束(?:这|我的)?[^，。]{0,6}(?:一生|生命))|"
        "(?:站|爬|翻|坐)(?:在|到)?[^，。,.!?！？]{0,6}(?:栏杆|护栏)外|(?:楼顶|天台|桥上)[^，。!?！？]{0,10}(?:跳下|想飞|结束|再见)|"
        "我[^，。,.!?！？]{0,4}(?:就|都)?不在了(?=$|[，。,.!?！？\\s])|不在了(?:的话)?(?:就|才)?(?:清净|清静|解脱|轻松|好了|一了百了)|"
        "(?:这些年|这么多年|一直以来)[^。!?！？]{0,6}(?:谢谢|感谢|多谢)[^。!?！？]{0,8}照顾[^!?！？]{0,40}(?:领养|托付|帮我照顾|钥匙|存折|密码)|"
        "(?:我们|我们俩|我们两个|我俩|和孩子|带着孩子)[^。!?！？]{0,6}一起[^。!?！？]{0,4}(?:就)?(?:安静|清净|清静|解脱|走)了|"
        "(?:楼顶|天台|顶楼|桥上)[^!?！？]{0,40}(?:大家都(?:轻松|解脱)|都解脱|下面的车[^，。]{0,4}(?:很|好)小)|"
        "(?:消息|短信|微信|留言|朋友圈)[^。!?！？]{0,6}(?:对不起|再见|永别|就到这里|尽力了|下辈子|别找我|照顾好(?:孩子|爸妈|妈|自己|他们)|好好活)[^!?！？]{0,40}(?:关机|不接|联系不上|打不通|找不到|不见|没在|绳子)|用不到了|没有什么值得留恋|不值得留恋|(?:身后事|后事)(?:都)?(?:交代|安排)好|把[^，。]{0,6}托付给|"
        "(?:天台|楼顶|顶楼|桥上|桥边|江边|海边)[^。!?！？]{0,20}(?:遗书|遗言|封信|再见|最后一|结束|跳下|想飞|解脱)|"
        "(?:遗书|遗言|封信|再见了|最后一次|结束这|解脱)[^。!?！？]{0,20}(?:天台|楼顶|顶楼|桥上|桥边|江边)|"
        # the method wished for, said casually: from a height, into water by name, a knife on oneself
        "(?:想|要|去|幻想|打算|只想|干脆)[^，。,.!?！？]{0,8}(?:楼上|高楼|楼顶|天台|高处|顶楼|几楼)[^，。,.!?！？]{0,3}(?:跳下|坠落|摔下|跳(?!舞|绳|操|远|高|伞|皮筋))|"
        "(?:想|要|幻想|渴望)[^，。,.!?！？]{0,4}(?:高空坠落|坠楼)|(?:捅|刺|扎|砍)(?:死)?自己|(?:淹死|摔死|撞死|饿死|冻死|吊死)(?:我)?(?:自己)?算了|"
        "(?:想|要|去|打算|干脆|真的要)(?:去)?跳(?!舞|绳|操|水|远|高|伞|广场|进[^，。]{0,4}救)[^，。,.!?！？\\s]{1,6}(?:湖|河|江|海|沼泽|水库|大桥)(?![^，。]{0,4}(?:救|捞|游泳|玩|边))|"
        "(?:走进|走到|沉到|沉进)[^，。,.!?！？]{0,6}(?:湖|河|江|海)(?:里|底|中)|"
        # someone else's death followed by "me too"; an accident hoped for; "我要跳" said mid-sentence
        "(?:跳崖|跳楼|跳河|跳海|跳江|自杀|割腕|烧炭)[^。!?！？]{0,12}我也(?:好)?想(?:去|跳|死|这样|试试)|"
        "运气好(?:的话)?[^。!?！？]{0,10}(?:意外死|意外身亡|死掉|死了)|希望(?:能)?(?:出(?:个)?)?意外(?:死|身亡|死掉)|"
        "(?:我|老子)(?:就)?要跳(?!槽|舞|绳|远|高|水|伞|操|皮筋)(?:了|下去)?(?:[^，。,.!?！？\\s]{0,2}(?:我|也|就|谁))")),
    ("fire", "119", re.compile(
        "(?<!打不)(?<!点不)(?<!打)着火|著火|起火|失火|火灾|大火|烧起来|火势|火燭|火烛|燃起来|火光冲天|着大火|山火|"
        "火警铃|火警(?:警报|报警)?(?:器)?(?:一直)?(?:在)?响|烟(?:雾)?报警(?:器)?(?:一直)?(?:在)?响|"
        # fire said another way: flames, a car alight, a transformer burning, a hot door handle
        "火窜|窜火|起伙(?!做饭)|着伙|自燃|"
        "门把手[^，。,.!?！？]{0,3}烫|(?:锅|油锅|抽油烟机|油烟机|窗帘|被子|沙发|电动车|电瓶车|房子|厨房)[^，。,.!?！？]{0,3}(?:也)?(?:烧着|烧著)(?:了)?|门(?:口|把)?[^，。,.!?！？]{0,3}(?:都|已经)?(?:好|很|勁|超)?(?:热|烫)(?:咗|了)|"
        # a burning smell from the wiring or a lamp: a fire starting
        "(?:电线|插座|插头|灯|电器|电箱|开关|火花)[^，。,.!?！？]{0,8}烧焦(?:的)?味|烧焦(?:的)?味[^，。,.!?！？]{0,8}(?:电线|插座|灯|电器|火花)")),
    # Sparks, a box or a line burning: a fire starting now, or, said as a pattern, a fault to report.
    ("sparks", "119", re.compile(
        "(?:冒|在冒|冒出)火花|(?<!气得)(?<!气得我)(?<!气到)(?<!心里)(?<!眼睛)冒火|"
        "(?:变压器|电箱|电表箱|配电箱|电线)[^，。,.!?！？]{0,4}(?:在)?(?:烧|冒火|起火|着了)")),
    ("smoke", "119", re.compile("冒烟|烟[^，。,.!?！？]{0,3}攻(?:晒)?(?:入|进)(?:嚟|来)|(?:走廊|楼道|屋里|屋企)[^，。,.!?！？]{0,4}(?:睇唔到嘢|睇唔见嘢|看不见东西|看不到东西)|冒黑烟|(?:成栋|整栋|成座|整座|成幢|整幢)楼[^，。,.!?！？]{0,3}(?:系|是|係|都是|都系|都係)?(?:烟|烟味)|(?:有|好多|很多)?烟冒(?:出来|出嚟|进来)|冒出(?:黑|白|黄)?(?:色的)?烟|冒(?:黄|黑|白)色的烟|浓烟|黑烟滚滚|烟雾很大|烟很大|烟好大|好大的烟|好多烟|全是烟|都是烟|都係烟|(?:全|都)是(?:黑|浓)烟|(?i:(?<![a-z])smoke(?![a-z])[^，。,.!?！？]{0,4}(?:很多|好多|好大|很大|everywhere|a lot)|(?:很多|好多|全是|都是)smoke(?![a-z]))|好大烟|烟冒到|"
                                "呛得[^，。,.!?！？]{0,3}(?:睁不开|喘不|受不了)|满屋(?:子)?(?:都是)?(?:黑烟|烟|黑的)|(?:黑|浓)烟(?:一股一股|往上|往外|冒出)|"
                                "烟[^，。,.!?！？]{0,6}(?:攻|冲|涌)(?:上|进)(?:来|嚟)")),
    ("gas", "119", re.compile(
        "(?:煤气|燃气|天然气|液化气|石油气)(?:罐|瓶|钢瓶|管|管道|管子|阀门|阀|灶|表|喉管)?(?:在)?(?:味|泄漏|泄露|漏了|漏气|"
        "在漏|罐爆)|(?:漏|泄)(?:煤气|燃气|天然气|液化气)|(?:气罐|气瓶|钢瓶)(?:在)?(?:漏|泄)|"
        "(?:气|罐|瓶|管)[^，。,.!?！？]{0,6}嘶嘶|嘶嘶[^，。,.!?！？]{0,6}(?:漏|气)|臭鸡蛋(?:那种|一样|似的)?(?:的)?味|"
        "闻到(?:一股)?(?:很大的|很浓的)?(?:煤气|燃气|天然气|液化气)|(?:煤气|燃气|天然气)(?:管|管道|管子)[^，。,.!?！？]{0,4}(?:挖断|弄断|断了|破了|裂了|爆了)|"
        "(?:滋滋|嘶嘶|呼呼)[^，。,.!?！？]{0,4}(?:往外)?冒气|(?:煤气|燃气|天然气|液化气)(?:好|很|超|好大|一股|阵)[^，。,.!?！？]{0,3}味")),
    ("explosion", "119", re.compile("(?<!原地)爆炸(?!性)|炸开了|罐爆了|轰的一(?:下|声)[^。!?！？]{0,16}(?:碎|震|塌|倒|躺|炸|着)")),
    ("trapped", "119", re.compile(
        "困咗|困住咗|卡(?:喺|在)[^，。,.!?！？]{0,10}(?:中间|之间)|(?:锁|关)(?:在|喺)车(?:里|入面)|困在车里|"
        "困在电梯|被困电梯|电梯(?:里)?困(?:了)?人|电梯里(?:有人)?被困|困电梯|关在电梯|电梯里出不来|"
        "被关在里面|被困(?!扰|惑)|困住了(?:一个|个|两个)?(?:人|老人|小孩|孩子)|困在(?:车|水|屋顶|楼顶|房顶|山|河|岛|里面|楼里|房间|屋里)|"
        "困在[^，。,.!?！？]{0,6}(?:出不来|下不来|出不去)|(?:锁|关|困)在(?:冷库|冰库|冷柜|冷藏车|集装箱|车厢)|(?:冷库|冰库)[^。!?！？]{0,30}(?:出不去|出不来|门锁上|锁住|锁上了)|"
        "水(?:还|仲)?(?:在|係度|系度)?(?:升|涨)[^。!?！？]{0,20}(?:搬不动|搬唔郁|搬不郁|抬不动|走不了|走唔到|出不去|坐轮椅|轮椅)|(?:坐轮椅|轮椅|卧床|瘫痪)[^。!?！？]{0,24}水(?:还|仲)?(?:在|係度|系度)?(?:升|涨)|卡在[^，。,.!?！？]{0,8}出不来|"
        "(?:车|车子|车辆|人)(?:被)?(?:水|洪水)?(?:淹|冲)[^。.!?！？]{0,8}(?:出不来|困|打不开)|水(?:已经)?(?:淹到|漫到|没过|到)(?:了)?"
        "(?:胸口|脖子|腰|车窗|车顶|车门)|(?:车|车子)里出不来|出唔到去|出不去了|下不去了|逃不出|"
        "淹到(?:了)?(?:腰|胸口|胸|脖子)|(?:水|淹)[^。!?！？]{0,30}(?:车门|门)(?:也)?(?:打不开|推不开)|"
        "(?:车门|门)(?:也)?(?:打不开|推不开)[^。!?！？]{0,30}水(?:还)?在(?:进|涨|往里)|"
        # lost in the hills as night falls, or someone there who cannot walk: mountain rescue
        "(?:山上|山里|山顶|山路|(?<=[\u4e00-\u9fff])山)[^。!?！？]{0,12}迷路|迷路了[^。!?！？]{0,24}(?:天(?:快|都|已经)?黑|走不了|下不了山|出不去|腿(?:好像|可能)?断|摔|滑下|掉下|没电)|"
        "卡(?:着|住)[^，。,.!?！？]{0,3}出不来|(?:船|boat)[^。!?！？]{0,10}(?:进水|水进来|漏水|要沉|在沉)|"
        "(?:广告牌|招牌|树|玻璃|外墙|脚手架|空调外机|吊机|塔吊)[^。!?！？]{0,24}(?:快要?掉|要掉下来|摇摇欲坠|挂着|在晃|要倒)[^。!?！？]{0,16}(?:下面|底下)[^。!?！？]{0,6}(?:有人|好多人|很多人|一堆人|人来人往)|"
        "(?:蛇|马蜂|毒蛇)[^。!?！？]{0,8}(?:钻进|盘在|爬进|爬到)[^。!?！？]{0,12}(?:床|屋|房|孩子|卧室)|(?:车|车子)(?:都)?翻(?:了|过来|过去|倒)|翻车了|"
        "(?:小孩|孩子|宝宝|人|老人|老太太|老头)[^，。,.!?！？]{0,6}(?:吊|挂|悬)在[^，。,.!?！？]{0,6}(?:阳台|窗|栏杆|外面|外边|半空)|"
        "(?:两只手|双手|手)[^，。,.!?！？]{0,3}(?:抓着|扒着|挂在)[^，。,.!?！？]{0,3}(?:栏杆|窗台|窗框|阳台)")),
    ("collapse", "119", re.compile(
        "被埋|埋(?:了|住了)?(?:人|在(?:下面|里面|底下|土里))|压在(?:下面|底下|里面)|被压住|被压在|压住了[^，。]{0,4}人|"
        "被[^，。,.!?！？]{0,6}压住|压住(?:了)?(?:只|条)?(?:脚|腿)|"
        "(?:房子|房屋|楼|墙|围墙|棚|脚手架|桥|屋顶)(?:突然|刚刚|刚才)?(?:塌了|倒塌|坍塌|倒了)|坍塌|塌方|山体滑坡|泥石流|"
        # a beam giving way
        "(?:房梁|横梁|大梁|屋梁|(?<![桥脊])梁)(?:都|已经)?(?:弯|断|裂)(?:了|开)")),
    # A crowd crush: the police manage the crowd (and send the ambulances).
    ("crush", "110", re.compile(
        "发生踩踏|踩踏了|(?:人群|人挤人|挤)[^。!?！？]{0,20}踩踏|(?:人|有人)[^，。,.!?！？]{0,6}(?:踩上去|踩在(?:她|他|人)?(?:身上|上面))|"
        "被(?:人)?踩在(?:下面|地上)|挤得[^，。,.!?！？]{0,6}(?:喘不上气|喘不过气|透不过气)|被挤在[^。!?！？]{0,10}(?:喘不上气|喘不过气|透不过气)")),
    ("medical", "120", re.compile(
        "晕倒|暈倒|昏倒|昏迷|不省人事|没有?呼吸|不呼吸|没了呼吸|没有?心跳|心脏病(?:发|犯)|心梗|中风|脑溢血|"
        "抽搐|口吐白沫|吐白沫|胸口[^。!?！？]{0,8}(?:闷|疼|痛|压)[^。!?！？]{0,24}(?:冷汗|发麻|喘不|(?:出|冒)(?:了)?(?:好多|很多|一身|一头|满头)(?:的)?汗)|(?:一边|半边)(?:身子|身体|脸)?[^，。,.!?！？]{0,3}(?:不会动|不能动|动不了|发麻)|嘴角[^，。,.!?！？]{0,3}流口水|大舌头|眼睛突然看不见|呼吸[^，。,.!?！？]{0,4}(?:很浅|微弱|很弱)|喘气[^，。,.!?！？]{0,4}(?:哨音|很急|好急)|嗓子[^，。,.!?！？]{0,6}(?:堵住|肿)|头孢[^。!?！？]{0,12}(?:酒|喝)|酒[^。!?！？]{0,12}(?:吃|服)(?:了)?头孢|(?:吃|喝)[^，。,.!?！？]{0,6}卡住了|发不出(?:声音|声)|(?:肚子|肚)[^，。,.!?！？]{0,4}一阵一阵(?:地)?(?:疼|痛)|(?:baby|宝宝|孩子)[^，。,.!?！？]{0,4}要出来了|(?:趴|躺|倒)(?:在)?(?:地上|地下|路上|路边|马路上)[^，。,.!?！？]{0,4}一动不动|叫(?:她|他)[^，。,.!?！？]{0,3}不理|(?i:not responding|unconscious|not breathing|collapse)|(?:倒|躺)(?:下|在)[^，。,.!?！？]{0,4}(?:在)?抽(?=$|[，。,.!?！？\\s]|搐|筋|风|着|起来)|(?:脸|嘴唇|嘴巴|嘴|脸色)[^，。,.!?！？]{0,5}(?:(?:发|变|有点|有些|都)(?:紫|青)|(?:紫|青)(?:了|色))|呛(?:奶|到|着)[^。!?！？]{0,12}(?:紫|喘不|没气|没用|不哭)|(?:洗衣凝珠|洗衣液|消毒液|84|漂白水|洁厕|清洁剂|杀虫剂|老鼠药|鼠药|干燥剂)[^。!?！？]{0,6}(?:咬破|吃|喝|吞|舔)|(?:吃|喝|吞|咬)(?:了|破|下|进)?[^，。,.!?！？]{0,6}(?:洗衣凝珠|洗衣液|消毒液|84|漂白水|洁厕|清洁剂|杀虫剂|老鼠药|鼠药|干燥剂)|喘不(?:上|过)气|呼吸困难|大出血|流了(?:好多|很多|一地)血|血流不止|头破血流|好多血|"
        "叫不醒|叫(?:他|她)?(?:都|也)?不应|没有?意识|没反应了|(?:人|他|她|老人|老伴|爸|妈|孩子|小孩|爷爷|奶奶)(?:突然)?倒在地上|摔倒(?:了|以后|之后|后)?[，,]?起不来|(?:摔|跌)了[^，。]{0,6}起不来|触电|噎住|卡住(?:了)?喉咙|吞了.{0,6}卡住|"
        "救护车|从高处摔下|出车祸|车祸|(?<!护栏)(?<!栏杆)(?<!路灯)(?<!电线杆)(?<!围墙)(?<!灯杆)被车撞|中毒|割伤.{0,4}很深|晕咗|昏咗|脸都紫了|脸色发紫|嘴唇发紫|"
        # stroke signs
        "(?<!得)(?:说|讲)不(?:出|了)话|口齿不清|嘴(?:巴)?(?:也)?歪|口眼歪|(?:半边|一边)(?:面|脸)(?:都|也)?(?:歪|垮|斜)|半边(?:身子|身体|脸|手脚)?(?:都)?(?:动不了|麻|没知觉|不能动|没力)|"
        "(?:手|腿|胳膊)(?:也|都)?(?:抬不起来|动不了)|"
        # poisoning
        "毒蘑菇|误食|误服|吃错(?:了)?药|(?:全家|一家人|家里人|好几个人|几个人|大家|孩子|小孩|老人)[^，。,.!?！？]{0,6}(?:吐(?!槽)|拉肚子|腹泻)|"
        "上吐下泻|吐血|一氧化碳|煤气中毒|(?:烧炭|炭火|炭盆|煤炉)[，,]?取暖[^。]{0,30}(?:晕|头痛|头疼|吐|呕|站不|起不来|没反应)|"
        "(?:吞|吃)(?:了|下去|进去|落肚)?[^，。,.!?！？]{0,6}(?:纽扣电池|电池|磁铁|磁珠|硬币|钉子|刀片)|"
        "把[^，。,.!?！？]{0,6}(?:纽扣电池|电池|磁铁|磁珠|硬币|钉子|刀片)[^，。,.!?！？]{0,3}(?:吞|吃)|"
        "喉咙(?:好|很)?(?:紧|肿)|嗓子(?:好像)?(?:肿|紧)|透(?:唔|不)(?:到|过)气|唞唔到气|呼吸(?:好|很)?(?:大声|急促)|"
        "血流(?:唔|不)停|流血流(?:唔|不)停|手指(?:断|切断)|断(?:咗|了)(?:手指|只手)|"
        "(?:人|他|她|老头子|老伴|老公|老婆|爸|妈|爷爷|奶奶)[^，。,.!?！？]{0,8}突然(?:就)?倒(?:下|在)|"
        # a body in trouble said without the usual words: collapsed in a chair, talking nonsense, eyes
        # rolled up, limbs gone, a seizure after a fever, bleeding in pregnancy, wild mushrooms
        "(?:人|他|她|老公|老婆|老伴|爸|妈|爷爷|奶奶)[^，。,.!?！？]{0,6}瘫(?:了|在|倒)(?![^，。,.!?！？]{0,3}(?:床|轮椅))(?![^，。,.!?！？]{0,12}(?:几年|多年|好久|长期))|说胡话|眼(?:睛)?(?:还|都)?(?:反白|翻白)|"
        "(?:手脚|手和脚|右边|左边)[^，。,.!?！？]{0,3}(?:都)?(?:动不了|不能动)|(?:发烧|高烧)[^。!?！？]{0,10}抽筋|"
        "(?:怀孕|孕)[^。!?！？]{0,24}(?:流血|出血|见红)|野生菌|野蘑菇|采的蘑菇|嘴唇[^，。,.!?！？]{0,2}紫|"
        "(?:人|他|她|老人|爸|妈|阿爸|阿妈|老伴|老公|老婆|孩子|BB|宝宝|爷爷|奶奶)[^，。,.!?！？]{0,6}没有?反应|"
        "(?:生|分娩|临盆)[^。!?！？]{0,20}头[^，。,.!?！？]{0,4}出(?:了)?来|"
        # bleeding, falls, head injuries
        "(?:在|一直|不停|还在)流血|血(?:一直|还在|不停)(?:在)?(?:流|冒|往外)|(?:手腕|伤口)[^，。,.!?！？]{0,8}(?:一直|不停|还)(?:在)?(?:流|留)|(?:流|留)[^。.!?！？]{0,3}(?:止不住|停不下来)|(?:冇|毛)(?:反应|呼吸|知觉)|血[^，。,.!?！？]{0,4}(?:喷|飙)|喷血|(?:吃|吞|喝)(?:了|下|咗|落)[^。!?！？]{0,14}药[^。!?！？]{0,6}(?:一整板|一整瓶|整瓶|一瓶|半瓶|一把|一大把|好多|好几片|很多)|(?:吃|吞|喝)(?:了|下|咗|落)[^。!?！？]{0,6}(?:一整板|一整瓶|整瓶|一瓶|半瓶|一把|一大把|好多|很多|好几片)[^。!?！？]{0,10}药|血(?:一直)?流(?:个)?不停|流血不止|血止不住|止不住血|出了(?:好多|很多)血|头(?:摔|磕|撞)?破了|"
        "(?:楼梯|梯子|高处|楼上|床上|树上)[^，。,.!?！？]{0,3}(?:摔|跌|掉)下来|(?:人|师傅|工人|老人|孩子|小孩|他|她|儿子|女儿|爸|妈|老伴|老公|老婆)[^，。,.!?！？]{0,8}从(?:外墙|阳台|窗户|窗台|脚手架|屋顶|楼顶|房顶|[0-9一二三四五六七八九十几]+楼)[^，。,.!?！？]{0,3}(?:摔|跌|掉)(?:了)?下(?:来|去)|(?:孩子|小孩|细路|宝宝|BB|儿子|女儿|孙子|孙女)[^，。,.!?！？]{0,6}(?:偷吃|偷食|误吃|误食|吃)(?:了|咗)?[^，。,.!?！？]{0,6}(?:我|奶奶|爷爷|外婆|外公|大人)?(?:的|啲)?(?:降压药|血压药|血压藥|安眠药|药片|药丸)|(?:吹风机|电吹风|插线板|电线|充电器|电器)[^。!?！？]{0,8}(?:掉进|掉到|掉落|泡在|跌落)[^，。,.!?！？]{0,4}(?:浴缸|水里|水盆|澡盆|浴盆)|门缝[^。!?！？]{0,8}(?:有)?血|血[^，。,.!?！？]{0,8}门缝|(?:毛巾|纱布)[^，。,.!?！？]{0,6}(?:湿透|染红|全红|都是血)|(?:疼|痛)[^。!?！？]{0,10}(?:在地上|满地)打滚|(?:在地上|满地)打滚[^。!?！？]{0,6}(?:疼|痛)|"
        "(?:片|粒|颗)[^，。,.!?！？]{0,4}(?:吃|吞)(?:了|下)(?:一大把|一把|一整板|一整瓶|整瓶|好多|十几|几十)|迷迷糊糊|意识不清|神志不清|"
        "(?:腿|脚|胳膊)(?:摔|跌)?断了[^。!?！？]{0,6}(?:不能走|走不了|动不了)|很深(?:的)?(?:一道|一个)?(?:口子|伤口)|"
        # labour
        "羊水破|破水了|见红了|宫缩|(?:马上|快要|就要|要)生了(?![^，。,.!?！？]{0,8}(?:证|怎么|办|手续|登记|补贴))|"
        "生在(?:家里|车上|路上)|"
        # eyes rolled up, lying on the floor unable to get up, a snake bite, vomiting until they cannot stand
        "眼(?:睛)?(?:一直)?往上翻|躺(?:在)?地(?:上|下)[^，。,.!?！？]{0,4}(?:爬不起来|起不来|动不了)|被(?:毒)?蛇咬|"
        "(?:吐|泻|泄)[^。!?！？]{0,20}(?:站不起来|起不来|晕过去|抽)")),
    ("violence", "110", re.compile(
        "打人(?!工|员|的)|打架|斗殴|被打(?!扰|折|开|印|包|卡|针|疫苗|电话)|在打我|打我(?!电话|手机|的电话|的手机|号|座机)|砍人|持刀|拿刀|动刀|捅人|被捅|拿枪|开枪|抢劫|抢钱|抢包|"
        "(?:拿|持|提|拎|揸|举|挥|握)(?:着|著|住|起|了)?(?:一)?(?:把)?(?:菜|水果|西瓜|长|砍)?(?:刀|斧头|枪)|"
        "威胁(?:要)?(?:砍|捅|杀)|(?<!一)刀[^，。,.!?！？]{0,8}威胁|威胁[^，。,.!?！？]{0,8}(?<!一)刀|打劫|打交(?!道)|劈人|斩人|"
        "家暴|绑架|劫持|强奸|性侵|非礼|入室|(?<!我)(?<!我们)(?<!我就)(?<!我把)撬(?:门|锁|我)|闯进|小偷正在|有贼|杀人|(?<!需)要杀(?![价毒菌虫])|被人跟踪|有人跟踪|威胁要杀|跟(?:着|住)?我[^，。,.!?！？]{0,8}(?:跟到|跟进|追到)(?:了)?(?:我)?(?:家|楼下|门口|小区|楼道)|(?:一直|一路)(?:跟|追)(?:着|住)我|"
        "要跳河|要跳楼|(?<![基车网电油气])站在楼顶|爬上楼顶|"
        # threats and attacks in progress
        "(?:弄|打|砍|斩|捅|搞)死(?:你|我|佢|他|她|我们|我哋|你们)|打断(?:你|我|他|她)的腿|被(?:几个|一群|好几个|一帮)[^，。,.!?！？]{0,6}围(?:住|着|殴)|撞了[^。!?！？]{0,12}还(?:没|不)停|(?i:someone)[^，。,.!?！？]{0,3}跟着我|我走(?:得)?快(?:他|她|那人)也快|要(?:你|我)的命|杀了(?:你|我)|"
        "把[^，。,.!?！？]{0,6}(?:弄|打|砍|捅|搞)死|被绑(?:着|住|起来|走)|绑着|撕票|(?:人|他|她)(?:现在)?(?:就)?在(?:他|他们|对方|我)手上|"
        "(?:砸|踢|踹|撞)(?:我家的?|我的|我们的?)?门|门(?:快|都)?(?:被)?(?:砸|踢|踹|撞)(?:开|烂|坏)|"
        "(?:老公|老婆|丈夫|男人|男朋友|前夫|阿爸|爸爸|他)(?:喝醉了?|饮醉酒)?[^，。]{0,4}(?:打我|打佢|打我阿妈|打我妈|打人)|"
        "(?:有人|有个男的|有个人|陌生人)[^，。]{0,6}(?:在)?(?:翻东西|进了我家|进我家|爬进|闯入)|"
        "(?:打|揍|殴打)(?:他|她)?(?:老婆|老公|孩子|小孩|我妈|我爸)|"
        "(?:又|在|正在|一直)打(?:她|他|佢|妈妈|我妈|爸爸|我爸|奶奶|爷爷|孩子|弟弟|妹妹|姐姐|哥哥|我)(?!电话|手机|的电话|的手机|号)|"
        "(?:我|她|他|人|孩子|女儿|儿子|妹妹|姐姐|闺蜜|朋友|说)[^，。,.!?！？]{0,3}被[^，。,.!?！？]{0,6}(?:关|锁)起来|被(?:人)?(?:关|锁)起来(?:了)?|被(?:男朋友|老公|丈夫|男人|前夫|房东|老板|他|她|人)[^，。,.!?！？]{0,4}(?:关|锁|困)(?:在|喺|起来)|不(?:让|放)(?:她|我|他|佢)(?:出门|出去|走)|"
        "安全账户|(?:涉嫌|卷入)洗钱[^。]{0,30}(?:转|汇)|(?:就|要|说要|扬言)放火|放火烧|"
        "躺在(?:马路|路|公路|车道|高速)(?:中间|中央|上)|"
        "上了[^，。,.!?！？]{0,4}陌生(?:男|女)?人的车|被陌生(?:男|女)?人(?:带走|抱走|拉走)|"
        "(?:说|威胁|喊)[^。!?！？]{0,12}让(?:我|你)好看|(?:楼下|门口|门外)[^，。]{0,4}堵我|"
        # robbery, a gang fight, a door forced, someone dragged into a car, a stalker at the car
        "被抢(?:了|走)|群架|械斗|(?<!我)(?<!我们)(?<!我就)(?<!我把)撬[^，。,.!?！？]{0,5}门(?!票)|(?:拖|拽|扯|抱|拉)(?:上|进)(?:了)?[^，。,.!?！？]{0,3}车|"
        "把[^，。,.!?！？]{0,6}(?:拖|拽|抢|抱)走|不让(?:我|你|我们)活着|拿石头(?:扔|砸)|(?:扔|砸)(?:我家|我们家)(?:的)?(?:窗|玻璃|门)|"
        "(?:男的|男人|陌生人|有人)[^，。,.!?！？]{0,10}(?:一直|一路)跟着我|"
        "(?:揪|扯|抓|拽)(?:着|住)?[^，。,.!?！？]{0,4}头发|(?:头|脑袋)[^，。,.!?！？]{0,3}往(?:地上|墙上|地下)(?:撞|磕|砸)|"
        "(?:拎|拿|揸|提|举)(?:住|着|起)?(?:个|把|根|块)?(?:铁锤|锤子|棍子|铁棍|钢管|砖头)[^，。,.!?！？]{0,6}(?:追|打|砸|敲)|"
        "(?:让|逼|要|叫)我[^，。,.!?！？]{0,4}把钱[^，。,.!?！？]{0,6}(?:取出来|都取|给他们|转给)|"
        "(?:让|叫|喊)(?:他|司机)停车[^，。,.!?！？]{0,6}(?:不理|不停|不听)|(?:敲|拍|拉)(?:我的?)?(?:车窗|车门)|"
        # someone else about to jump
        "(?:桥上|楼顶|天台|栏杆外|护栏外)[^。!?！？]{0,20}(?:鞋(?:子)?(?:都)?脱|一直往下看)|"
        # a scam in progress: money about to go, the code about to be read out
        "屏幕共享|共享屏幕|验证码[^。!?！？]{0,12}(?:读|念|报|告诉|发)给(?:他|她|对方|他们)|(?:读|念|报)(?:了)?验证码给(?:他|她|对方|他们)|"
        "(?:自称|说是|冒充)[^。!?！？]{0,15}(?:公安|警察|反诈|检察|法院|客服|领导|老板|上司|经理|亲戚|朋友|同学|儿子|女儿)[^。!?！？]{0,40}(?:转|汇|验证码|下载|抓)|"
        "(?:ATM|柜台|银行)[^。!?！？]{0,20}(?:要先转|让我转|催我转|正在转|马上转)|(?:柜台|银行)[^。!?！？]{0,16}(?:取|转|汇)[^。!?！？]{0,24}(?:保释金|安全账户|保证金|拦不住|不信我)|(?:充值|转账|汇款|保证金|解冻|提现)[^。!?！？]{0,30}(?:正在去银行|去银行的路上|马上去转|正在转)|对方[^。!?！？]{0,10}(?:一直)?(?:在)?催[^。!?！？]{0,10}(?:转|汇|打钱|第二笔|下一笔|付款)")),
    # Afraid to go out or open the door: a threat now, unless said as a pattern or beside a fire (below).
    ("afraid", "110", re.compile("不敢(?:下楼|出门|开门|回家)")),
    # Water rescue is the fire and rescue service's (消防救援): 119, as outside authors' callers expect.
    ("drowning", "119", re.compile("游泳[^。!?！？]{0,24}(?:不见了|没上来|沉下去|只看得到|看不到人)|溺水|落水|掉(?:进|到|落)?(?:了)?(?:河|水|海|湖|塘|水库|江)(?:里|中)|掉水里|被水冲走|被(?:浪|海浪|大浪|潮水|洪水|急流)(?:给)?(?:卷|冲|打)走|淹死|沉下去|在水里扑腾|"
                                  "跌(?:了)?(?:落|进)(?:了)?(?:海|河|水|江|塘)")),
    ("missing", "110", re.compile(
        "(?:孩子|小孩|老人|儿子|女儿|孙子|孙女|老伴|父亲|母亲|爸|妈|爷爷|奶奶|外婆|外公|宝宝|个女|个仔|细路)(?:又|已经|突然)?"
        "(?:(?:在|从|喺)[^，。,.!?！？的]{1,8}?)?(?:走丢|走失|找不到了|不见了|唔见咗|失踪|丢了(?=$|[，。,.!?！？\\s]))|"
        "(?:走丢|走失|唔见咗|不见了)[^。.!?！？]{0,10}(?:孩子|小孩|儿子|女儿|宝宝|个女|个仔|男孩|女孩)|"
        "(?:孩子|小孩|儿子|女儿|老人|老伴|老头子|老头|老太太|老公|老婆|爸|妈|爷爷|奶奶|阿公|阿婆)[^。!?！？]{0,32}(?:到现在|至今|还|现在)(?:都|也)?(?:没|没有|未)(?:回家|回来|返屋企|上来|出来)[^。!?！？]{0,30}(?:关机|不接|联系不上|陌生|不回|打不通|手机(?:也)?(?:没|冇)(?:带|戴)|天(?:都|已经)?快黑)|"
        "找了[^，。,.!?！？]{0,6}(?:小时|钟头|整天|一天|一晚|半天|分钟)[^，。,.!?！？]{0,3}(?:都|还|也)?(?:没|没有)找到|"
        "找了[^，。,.!?！？]{0,6}(?:小时|钟头|半天|分钟)[^。!?！？]{0,4}(?:到处|哪里|哪儿|周围)(?:都|也)?(?:没有|没|找不到|不见)|"
        "(?:一转眼|一回头|一扭头|一转身|转个身)[^。!?！？]{0,12}(?:就)?(?:没了|不见了|找不到)|"
        "(?:转眼|回头|扭头|转身|抬头)[^。!?！？]{0,8}(?:孩子|娃|小孩|他|她|儿子|女儿)(?:就)?(?:没了|不见了|找不到了?)|"
        "(?:孩子|小孩|儿子|女儿|老人|老伴|老公|老婆|爸|妈|爷爷|奶奶|外婆|外公)[^。!?！？]{0,16}(?:一直|还)(?:没|没有)(?:到|回)(?:来|家)?[^。!?！？]{0,10}(?:关机|联系不上|打不通|不接)|"
        "(?:孩子|小孩|老人|儿子|女儿|孙子|孙女|老伴|爸|妈|爷爷|奶奶|外婆|外公|宝宝)[^。!?！？]{0,30}(?:走失|走丢)了|"
        "(?:放学|下班|出门)[^。!?！？]{0,10}(?:还)?没(?:有)?(?:回|到)(?:来|家)[^。!?！？]{0,40}(?:打不通|关机|联系不上|没人接|不接)|(?:陌生人|不认识的人|一个(?:阿姨|男的|女的|男人|女人|人|老头|大叔))[^。!?！？]{0,12}(?:把)?[^。!?！？]{0,10}(?:孩子|小孩|小男孩|小女孩|儿子|女儿|宝宝)(?:给)?(?:带走|抱走|领走|拉走|拐走)|"
        "(?:老人痴呆|老年痴呆|痴呆|失智|阿尔茨海默)[^。!?！？]{0,30}(?:未返|没回|没有回|冇返|找不到|走丢|不见|唔见)|"
        "(?:痴呆|失智|阿尔茨海默)[^!?！？]{0,90}(?:人不见了|不见了人|走丢了|走失了|找不到(?:人|他|她)了)")),
    ("call", "110", re.compile("救命|快报警|帮我报警|我要报警|快来人|紧急情况|(?<!哪里)(?<!哪儿)(?<!什么)(?<!啥)(?<!等到)(?<!等)出事了")),
    ("call", "119", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?119")),
    ("call", "120", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?120")),
    ("call", "110", re.compile("(?:快|赶紧|马上|帮我)(?:打|叫|拨)?110")),
]

# Said other ways by a seventh and eighth outside author's callers (tests/data/safety_dev11.jsonl,
# residents_dev11.jsonl, 2026-12-05): poison drunk by mistake, a collapse in Cantonese or Hokkien, charcoal
# burnt in a closed room, an elder fallen who cannot get up, sparks from a switch box, someone gone under the
# water, a lift in Cantonese, a fraud or a blackmail being paid now, a child gone while the carer looked away,
# a whole strip of pills, a fire in English.
_RULES += [
    ("medical", "120", re.compile(
        "(?:农药|洁厕[灵剂液]?|消毒(?:水|液)|杀虫剂|鼠药|老鼠药|漂白水|清洁块|洗碗块|凝珠)[^。!?！？]{0,15}(?:当成|当作|以为是)?[^。!?！？]{0,6}"
        "(?:喝|倒|吃|吞|饮|咬|舔)(?:了|咗|落)[^。!?！？]{0,20}(?:吐|呕|痛|疼|晕|烧|哭|不舒服|喉咙|口水)|"
        "(?:瘫|倒)(?:咗|了)?(?:落地|落去|在地上|喺地)[^。!?！？]{0,12}(?:冇|没)(?:晒|有)?(?:反应|气)|(?:冇|没)晒反应|"
        "(?:就|突然|一下)(?:倒|瘫)(?:落去|咗落地)|目睭(?:唔|不)开|(?:倒|瘫|晕)[^。!?！？]{0,12}眼睛(?:都)?(?:唔|不|睁不|打唔)开|"
        "(?:炭|炭炉|火盆|煤炉)[^。!?！？]{0,24}(?:门窗|窗|门)[^。!?！？]{0,8}(?:关|闭|封)[^。!?！？]{0,40}(?:晕|呕|吐|头痛|头疼|叫不醒|唔识应|不应)|"
        "(?:摔|滑|跌)(?:倒|低|咗)[^。!?！？]{0,30}(?:躺在|瞓喺|趴在)[^。!?！？]{0,10}(?:地上|地下|地板)[^。!?！？]{0,24}(?:起不来|爬不起来|动不了|站不起来|起唔到身)|"
        "(?:吃|食)(?:错|咗|了)(?:药)?[^。!?！？]{0,4}(?:成排|一排|整排|一板|整板|成板|一整板|一大把|成把)[^。!?！？]{0,8}药|"
        "(?:糖尿病|打(?:胰岛素|针))[^。!?！？]{0,60}(?:满头大汗|出冷汗|冒冷汗)[^。!?！？]{0,30}(?:不认识|认不出|答不上|叫(?:他|她)?(?:名字)?[^，。]{0,4}不应)")),
    ("sparks", "119", re.compile(
        "(?:电闸|电箱|配电箱|电表箱|变电箱|变压器|开关箱|电房)[^。!?！？]{0,12}(?:火花|在爆|啪啪|冒火|冒烟|着火|燶味|焦味)")),
    ("drowning", "119", re.compile(
        "(?:掉|跌|落|沉|跳)(?:了)?(?:下去|落去|落水|进水)[^。!?！？]{0,16}(?:冒(?:了)?(?:两下|几下|一下)?泡|没(?:有)?(?:再)?上来|冇(?:再)?上嚟|没(?:有)?浮上来)|"
        "(?:一个|有个)人[^，。]{0,4}(?:被|俾)(?:水)?冲走")),
    ("trapped", "119", re.compile("困(?:喺|在)[^，。,.!?！？]{0,10}(?:电梯|𨋢|䢂)")),
    ("violence", "110", re.compile(
        "(?:骗|呃)[^。!?！？]{0,30}(?:去紧|正在|准备)(?:去)?(?:银行|ATM|柜台)?(?:转钱|转账|汇款|过数)|"
        "(?:不|唔)(?:转|给|俾)钱(?:就|佢就)(?:把|要|将)?[^。!?！？]{0,20}(?:发给|发到|曝光|公开|放上网|放到网上)[^。!?！？]{0,20}"
        "(?:现在|正在)(?:正在)?(?:准备)?(?:转|给|俾|汇)")),
    ("missing", "110", re.compile(
        "(?:孩子|孙子|孙女|小孩|儿子|女儿|孙仔|孙女|个仔|个女|细路)[^。!?！？]{0,40}(?:回来|返嚟|转头|一转身|回头)(?:就|人就|佢就)?(?:没了|不见了|唔见咗|冇咗)"
        "[^。!?！？]{0,30}(?:找|喊|叫|搵|嗌)")),
    ("fire", "119", re.compile(
        "(?i:(?<![a-z])smoke (?:is )?(?:coming|pouring|billowing)|(?<![a-z])on fire(?![a-z])|fire alarm[^.!?]{0,20}(?:beep|going off|ringing)|(?:alarm|alarms) (?:is |are )?beeping)")),
]

# A crisis where the harm is already done (pills swallowed, wrists cut, bleeding) needs an ambulance
# first; one where the person is still deciding needs the police, who answer people about to act.
_SELF_HARM_DONE = re.compile(
    "(?:吃|吞|服|喝)(?:了|下)[^。.!?！？]{0,12}(?:药|农药|百草枯|敌敌畏)|(?:喝|吃|吞)(?:农药|百草枯|敌敌畏|安眠药)了|割腕了|割了(?:手)?腕|已经割|刚割|(?:手腕|手)[^，。]{0,3}(?:划|割)了|"
    "把[^，。,.!?！？]{0,6}药[^，。,.!?！？]{0,4}(?:吃|吞|喝)(?:了|下去|光)|把(?:一整瓶|一瓶|整瓶|一整板|一板|一大把)[^，。,.!?！？]{0,2}安眠药|药[^，。,.!?！？]{0,4}(?:吃|吞|喝)(?:下去|光)|"
    "上吊了|烧炭了|烧炭(?:的)?(?:味|气味)|炭味|(?:炭|煤炭|木炭)[^，。,.!?！？]{0,4}(?:点上|点着|点燃)|跳下去了|流(?:了)?(?:好多|很多|一地)?血|在流血|(?:全|都)是血|好多血|很多血|"
    "血[^，。]{0,4}(?:止不住|一直流)")
# A negation right before the trigger takes it back ("没有着火", "不是煤气味", "没冒烟"), unless the
# trigger is itself a negation ("没有呼吸").
_NEGATION = re.compile("(?:没有|没|并没有|不是|并非|未|无|唔係|唔系|唔是|不系)$")
# Right before a wish ("想死", "想跳楼"): the writer says it is not so ("我不想死", "也没想死"). Not _NEGATION:
# its 未/无 never stand before 想, and 不 before a danger word ("不着火") is no denial of the danger.
_WISH_DENIED = re.compile("(?:不|没|不是|并不|也没|从没)$")
# Things, not people, fall into water: "手机掉水里了".
_NOT_A_PERSON_BEFORE = re.compile("(?:手机|钥匙|东西|钱包|眼镜|帽子|鞋子?|球|耳机|车钥匙|证件)(?:又|也|不小心)?$")
# Breathlessness and no way out said of a life, not a body: "生活压得我喘不过气", "在深渊里…谁也逃不出来".
_BODY_FIGURE = re.compile(
    "(?:压力|生活|工作|学习|作业|房贷|债|压|逼|累)[^，。,.!?！？]{0,8}(?:喘不(?:上|过)气|透不过气)|(?:喘不(?:上|过)气|透不过气)(?:来)?的(?:压力|感觉|生活)|"
    "(?:深渊|命运|这个世界|牢笼|怪圈|循环|黑暗|泥潭|漩涡)[^。!?！？]{0,16}逃不出|逃不出[^。!?！？]{0,6}(?:深渊|命运|这个世界|牢笼|怪圈|循环|黑暗|泥潭|漩涡|心里|自己|这个家)|谁(?:也|都)逃不出")
# A simile right before the danger word: "老板天天像拿刀架在我们脖子上催业绩".
_SIMILE = re.compile("(?:就像|如同|仿佛|像是)$|(?<![好就])像$")
# Said to be over now, whenever it was: "已经关火开窗，现在没事了".
_OVER_NOW = re.compile("现在(?:已经)?没事了|已经没事了|人(?:都)?没事(?!吧|吗)|都没事了")
# Cooking fumes are a nuisance complaint, not a fire.
_NOT_SMOKE_BEFORE = re.compile("(?:油|炊|香|抽|吸|烤|烟花|鞭炮)$")
# A complaint about an earlier call-out: a past marker together with a complaint word, and nothing
# that says it is happening now.
_PAST = re.compile(
    "上周|上个?星期|上个?礼拜|上个月|上次|上回|去年|前年|之前|以前|那次|当时|前几天|琴晚|寻晚|噚晚|琴日|寻日|噚日|前(?:一|两|三)天|前些天|前阵子|前段时间|年前|曾经|发生过|事后|后来|"
    "[0-9一二三四五六七八九十]+(?:月|号)[0-9一二三四五六七八九十]*(?:日|号)?(?![电楼线门栋床房口车窗柜台座机地仓])|[0-9]{4}年|昨天|昨晚|前天|"
    "上个?(?:周|礼拜|星期)[一二三四五六日天]|几天前|几个月前|[0-9一二三四五六七八九十两]+(?:天|个月|年|周)(?:以)?前")
_COMPLAINT = re.compile("占道|进不来|进不去|过不去|消防通道|投诉|太慢|来得慢|来晚|迟到|态度|不满意|差评|说法|反映|赔偿|收费|乱收|理赔|保险|推来推去|推嚟推去|跟进|追责|问责|道歉|年检")
_ONCE = re.compile("一(?:起火|着火|失火)(?!灾)")
# A threat made in a quarrel, the one who made it gone ("吵了半年了 昨天他说迟早弄死你 现在人已经走了").
_QUARREL = re.compile("吵(?:了|咗)|闹(?:了|咗)|矛盾|纠纷|过节")
_MAKER_GONE = re.compile("(?:人|他|她|佢)(?:已经|都)?(?:走了|走咗|不在(?:家|了)?|唔喺度|出差)")
_FORMAL_COMPLAINT = re.compile("投诉|说法|问责|追责|差评")
_THREAT = re.compile("(?:弄|打|砍|斩|捅|搞|整)死|杀了|要(?:你|我)的命")
_NOW = re.compile("现在|正在|马上|快来|赶紧|救命|还在|刚刚|刚才|此刻|快点|就是现在|而家|啱啱|快救|头先|依家|宜家|紧过嚟")
# An ambulance heard, not called for: "救护车半夜老是鸣笛，吵得睡不着".
_NOISE = re.compile("吵|鸣笛|噪音|噪声|扰民|声音(?:太|很|好)大")
# What happened next, told after the danger word: it is over ("有人晕倒，后来被送去医院了").
_RESOLVED = re.compile("后来[^。!?！？]{0,12}(?:送|救|灭|好了|没事|走了|醒了|找到|抓)|(?:现在|已经)?(?:是)?没事了|(?:派出所|警察|民警)[^。!?！？]{0,10}(?:把人)?带走了|(?:已经)?(?:被)?送(?:去|到|进)?(?:了)?医院了|送医了|抢救过来了|救出来了|(?:已经|被)?扑灭了|现在(?:已经)?好(?:了|多了)|在家养伤|养伤|在家(?:躺着|休息|养着)|出院了|(?:已经)?(?:被)?(?:拉走|抬走)了|"
    "(?:救护车|警察|交警|消防)[^。!?！？]{0,8}(?:已经|都)(?:到了|来了)|(?:很|已经|现在)安全(?:了)?(?=$|[，。,.!?！？\\s])|已经搬出来|"
    "(?:已经|今朝先|先)?(?:搞掂|搞定)(?:了)?|(?:已经)?(?:来人)?修好了|已经(?:处理|解决)好?了|已经找到(?:了)?|(?<!没)找到了(?=$|[，。,.!?！？\\s🙏])|已经(?:自己)?(?:出来|爬出来)了|已经关(?:了)?火")
# A cry of "救命" or a mention of the ambulance about a form, a fee or a system: "救命 表格提交不了",
# "救护车费用医保报吗".
_NOT_A_BODY = re.compile("费用|报销|多少钱|医保|表格|提交|系统|网站|网页|小程序|密码|登录|作业|考试|工资|额度")
# Chronic faults described as a pattern ("电梯老是困人") are tickets, not emergencies.
_CHRONIC_KINDS = frozenset({"trapped", "gas", "smoke", "sparks", "afraid"})
_NOW_NEGATED = re.compile("(?:到)?(?:现在|而家|目前)(?:也|都|还|已经|又)?(?:不敢|没有|没|不|闻不到|看不到|冇|一句)|(?:现在|而家|目前)[^，。,.!?！？\\s]{0,3}没事")
_CHRONIC = re.compile("经常|老是|总是|常常|每次|动不动|三天两头|隔三差五|好几次|多次|成日|日日|成晚|每天|天天|[0-9一二三四五六七八九十几]+次")
# What may happen, what someone fears, what they read about: a hazard to report, not danger now.
_HYPOTHETICAL = re.compile(
    "怕|担心|万一|一旦|如果|假如|要是|会不会|容易|可能会|随时可能|防止|预防|以防|避免|隐患|风险|演练|培训|知识|宣传|以为(?:是)?(?:着火|起火|失火|火灾|爆炸|漏气)|"
    "检查|安全教育|新闻|报道|网上(?:说|看|传|有人说|的(?:新闻|视频|消息|帖子))|电影|电视剧|情节|剧情|打游戏|玩游戏|游戏里|剧本杀|真要|真的要是|(?:看|刷|网上的?)(?:到|了)?(?:一个|个|条|段)?视频|视频(?:里|上|中)|电视|听说|据说|朋友圈|群里说|谣言|辟谣|是不是真的|国内|全国|各地|事故频发|频发|屡屡|曾发生|发生过|引人关注|"
    "会(?:着火|起火|爆炸|塌|倒)|怎么(?:预防|防)|会[^，。,.!?！？]{0,6}(?:中毒|触电)|惊有人|惊会|提示牌|警示牌|提醒大家|别让人|科普|小说|剧本|"
    "一般(?:要|多|是|怎么|会)|拆迁区|烂尾|废弃|危房|危楼")
# Still going on: an end said after it is not the end of this ("还在流血，救护车已经到了").
_STILL = re.compile("还在|正在|仍在|一直在|现在还|而家仲")
# Said right after the danger word: a joke ("说要打死他，哈哈开玩笑的"), or the threat not carried out yet
# ("说要上门让我好看，目前还没来", "还没人被蛰").
_JEST_OR_NOT_YET = re.compile("开玩笑|开个玩笑|哈哈|逗你玩|说着玩|(?:目前|现在|暂时)?还没(?:有)?(?:来|上门|动手|发生|人被)")
# The time after the event, said right after its word, and what it left: "中风以后行动不便，想办残疾证".
# Not what happened next ("晕倒后一直没醒", "摔倒以后起不来了"): that is the event still going on.
_AFTER_IT = re.compile("(?:了)?(?:以后|之后)[^，。,.!?！？]{0,12}(?:行动不便|后遗症|康复|恢复|出院|住院|瘫痪|不能自理|生活不能|想办|申请|补贴|报销|鉴定|评定|残疾)")
# A laugh just before: "哈哈哈哈 救命 人已经裂开了".
_LAUGH = re.compile("哈哈|呵呵|笑死|😂|🤣")
# Fear said after the danger word is fear of it now ("爸爸又打妈妈了…我好怕"), not of what may happen.
_AFRAID_NOW = frozenset({"怕", "担心"})
# What may happen, said of the whole message.
_WHAT_IF_CHARS = 30
_NOT_YET = re.compile("还没(?:有)?(?:倒|塌|掉下来|断|砸到人|砸到|伤到人|碰到人)|快(?:要)?碰到人|差(?:一)?点(?:就)?(?:砸|碰|撞)到人|"
                      "随时(?:都)?(?:会|可能)?(?:倒|塌|掉下来|砸下来)")
_WHAT_IF = re.compile("万一|如果|假如|要是|担心|以防|防止|隐患|安全风险|存在风险|迟早|还没(?:有)?(?:人被|出事|伤到人)")
# A crisis word that is not the sender's own danger now: a negation, a general remark, someone else's
# death in the past or the news.
_CRISIS_NEGATED = re.compile("(?:不会|才不会|不要|(?<![特区分告级性识个类离辨派差鉴])别|千万不要|不可能|没想过|从没想过|劝|阻止|不能|不然|要不是|否则|早就|差点|不选择|不会选择)"
                             "[^，。,.!?！？]{0,3}$")
_CRISIS_GENERIC = re.compile(
    "为什么(?:会)?有(?:那么|这么)?多人|那么多人|很多人|有些人|一群|新闻|报道|微博上|看到(?:了)?[^，。]{0,10}(?:的事|遗书|消息)|"
    "(?:女孩|男孩|网友|朋友|同学|学生|明星|(?<!没)有人|别人|他们|人们|好多人|不少人|许多人|有的人|有些人)[^，。]{0,12}(?:自杀|跳楼|跳崖|跳河|跳江|跳海|跳湖|上吊|割腕|烧炭|焚炭|离开这个世界)"
    "(?:了|的事|的消息|身亡|的心情|的人)?|(?:自杀|跳楼|割腕)(?:的)?(?:事件|新闻|事|消息|的人|照片)|自杀(?:率|问题|现象|案例|干预|预防|热线)|科普|(?:真)?想死的人(?:不会|那么多|都是)|假如|如果你|你的(?:儿女|孩子)|"
    "(?:你|他|她)(?:为什么|怎么)(?:要)?(?:自杀|跳楼|去死)|跳楼机|蹦极|跳水|跳伞|一起去死好了|你(?:有)?写遗书|让(?:我|你)(?:去)?(?:跳楼|去死)|(?:说|喊)(?:着)?(?:你|自己)?(?:要|想)(?:跳楼|去死|死)|想(?:你|他|她)(?:们)?去死|"
    "想死的(?:人)?(?:都|就)|烧炭取暖|炭火取暖|(?:说|道)[:：]|嘲讽|搞笑|矫情|好笑|不理解|讨厌")
_ACTING_NOW = re.compile("告别|遗书|遗言|打不通|联系不上|不接电话|关机了|说要去|准备去|已经(?:在|到)了?(?:楼顶|天台|桥上|江边|海边)")
_LONG_LETTER = 150
_CLAUSE_END = re.compile(r"[，。,.!?！？；;\n]|\s")


def _is_negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[max(0, start - 3):start]))


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the clause around text[start:end] (between clause punctuation)."""
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    right_match = _CLAUSE_END.search(text, end)
    return left, right_match.start() if right_match else len(text)


def _not_now(text: str, start: int, end: int, *, long_letter: bool) -> str:
    """Why the danger word is not danger now: "hazard" (what may happen, a fear, the news), "past", "report"
    (a long letter describing it), or "" when it is danger now.

    Only the words near the danger word count: a speech recogniser's run-on sentence ("上个礼拜楼下着火
    烧黑了而家保险公司推来推去") has no clause marks, and its "而家" (now) is about the insurer."""
    left, right = _clause(text, start, end)
    left, right = max(left, start - _NEAR), min(right, end + _NEAR)
    before = text[max(left - 40, 0):start] if left > 0 and left > start - _NEAR else text[left:start]
    clause = text[left:right]
    if _HYPOTHETICAL.search(text[left:start]) or any(
            m.group(0) not in _AFRAID_NOW for m in _HYPOTHETICAL.finditer(clause[: start - left + 12])):
        return "hazard"
    now_at = _nearest(_NOW, text, left, right, start, end)
    if now_at is None and _NOW.search(before[-12:]):
        now_at = 12
    if _RESOLVED.search(text[end : end + 30]) and (now_at is None or not _STILL.search(clause)):
        # told with how it ended ("刚刚看到一起车祸，救护车都已经到了，人已经拉走了"): "just now" was when
        return "past"
    if _AFTER_IT.match(text, end):
        return "past"  # the time after it: "我爸中风以后行动不便"
    if _JEST_OR_NOT_YET.search(text[end : end + 20]) or _LAUGH.search(text[max(0, start - 10):start]):
        return "hazard"
    past_at = _nearest(_PAST, text, max(left - 40, 0) if left > start - _NEAR else left, right, start, end)
    if past_at is not None:
        # Both said ("上个星期被关在里面，现在不敢坐"): the marker nearer the danger word tells its time.
        return "" if now_at is not None and now_at <= past_at else "past"
    now_here = now_at is not None
    if long_letter and not now_here:
        # A long letter is a report: it describes what happened and asks for action.
        return "report"
    return ""


# How far around a danger word its clause is read, at most (characters).
_NEAR = 16


def _nearest(pattern: re.Pattern[str], text: str, left: int, right: int, start: int, end: int) -> int | None:
    """Distance from the danger word text[start:end] to the nearest match of ``pattern`` in text[left:right]."""
    best = None
    for m in pattern.finditer(text, left, right):
        d = start - m.end() if m.end() <= start else (m.start() - end if m.start() >= end else 0)
        best = d if best is None else min(best, max(d, 0))
    return best


# The writer's own crisis, told as over: a time long gone before the word ("高中的时候想过自杀", "那年写过一封
# 遗书"), the end of it said after ("现在孩子都两岁了", "熬过来了"), and nothing that brings it back ("现在又想").
# A past attempt alone is not over: annotators of real posts rate "去年买了炭本来想烧炭" as high risk.
_CRISIS_LONG_AGO = re.compile(
    "以前|从前|前阵子|前段时间|当年|那年|那会儿?|那时候?|曾经|小时候|(?:高中|初中|大学|大一|大二|大三|大四|读书|上学)(?:的)?(?:时候|那年|那会儿?)|"
    "[0-9一二三四五六七八九十两几]+(?:岁|年)(?:那年|的时候|前)|去年|前年|年轻(?:的)?时候")
_CRISIS_OVER = re.compile(
    "现在[^，。,.!?！？]{0,10}(?:好了|挺好|很好|还行|活得|过得|不想了|没事|开心|幸福|孩子|结婚|工作|上班|读研|在读|每天)|"
    "过去了|走出来|熬过来|活下来|救回来|都好了|好多了|在看医生|在治疗|出院|不会再|好多年没|很久没(?:有)?(?:出现|想)|不想了")
_CRISIS_BACK_AGAIN = re.compile("又(?:想|开始|要)|还(?:是)?(?:想|在想|会想)(?!起)|现在(?:也|还|又)(?:想|要)|今天(?:又|也)|最近(?:又|还|总|老)")
# Said in jest or of something else: a sale, laughing, the heat, a pain, a deadline ("跳楼价", "笑不活了",
# "热到想死", "疼得想死", "开玩笑的"); a book, a film or a song by name ("《遗书》").
_CRISIS_FIGURE = re.compile(
    "跳楼(?:价|大甩卖|甩卖)|笑(?:不活|死)|(?:累|疼|痛|热|冷|饿|困|烦|忙|笑|气|吵|丑|难吃|吠|闹|逼)(?:得|到)[^，。,.!?！？]{0,6}(?:想死|死掉|不活|想撞墙)|(?:吵|吠|闹|烦)(?:得|到)[^，。,.!?！？]{0,6}想跳楼|"
    "想死的心都有|开玩笑|(?:加班|上班|工作|忙|累|卷|学习|考试|写作业|开会)(?:加)?(?:得|到)[^，。,.!?！？]{0,6}(?:想跳楼|想死|不想活)|(?:想死|想跳楼|不想活了?)(?:了)?[😂🤣]|停止自残|不再自残|(?:数据线|钱包|减肥计划|计划|手机|电脑|头发|余额|发际线)[^，。,.!?！？]{0,6}(?:自杀|跳楼)|《[^》]{0,20}》|(?:电影|电视剧|韩剧|日剧|美剧|纪录片|小说|这本书|那本书|歌词|剧里|戏里)")
# Words quoted: another's, or the writer's long ago ("闺蜜分手后说"我要去死"，然后点了三份炸鸡") — unless the
# writer quotes their own thought ("我在想“跳下去就没事了吧”").
_QUOTED = re.compile("[“\"「『][^”\"」』]{0,40}[”\"」』]")
_OWN_THOUGHT_BEFORE = re.compile("想(?:着|到|过)?$")


# The writer's own wish after someone else's death: "华山有人跳崖了然后我也想去".
_ME_TOO_AFTER = re.compile("[^。!?！？]{0,12}我也(?:好)?想(?:去|跳|死|这样|试试|跟着)")
# Said to someone else, after the word: "跳楼死的可不美了…别去了吧，我们爱你".
_ADVICE_AFTER = re.compile("[^。!?！？]{0,24}?(?:别去了|别跳|别死|别做傻事|别想不开|不要去|不要做傻事|不要想不开|我们爱你|要好好(?:的|活))")
# Charcoal lit in a shop or a restaurant: "楼下烧腊店每天凌晨就开始烧炭".
_BUSINESS_BEFORE = re.compile("(?:烧腊|烧烤|烤肉|烧鹅|烤鸭|餐馆|大排档|档口)[^。!?！？]{0,24}$")
# A jump for sport said earlier in the sentence: "你去蹦极试一试，跳下去试一次".
_SPORT_BEFORE = re.compile("(?:蹦极|跳伞|跳水|跳楼机|跳台|滑翔|游泳池|泳池)[^。!?！？]{0,36}$|(?:狗|猫|狗狗|猫咪|宠物)[^，。,.!?！？]{0,8}$")
# A thought had and dropped: "也想过抱着猫跳下去 可是一想还有家里人 就取消想法了".
_THOUGHT_BEFORE = re.compile("想过[^，。,.!?！？]{0,8}$")
_THOUGHT_DROPPED = re.compile("[^。!?！？]{0,40}(?:取消|打消|放弃|断了)(?:了)?(?:这个|这种|那个)?(?:想法|念头)")


def _crisis_taken_back(text: str, start: int, end: int) -> bool:
    if "我也" in text[start:end] or _ME_TOO_AFTER.match(text, end):
        return False
    left, right = _clause(text, start, end)
    if _ACTING_NOW.search(text[max(0, left - 20):start] + "，" + text[end:min(len(text), right + 30)]):
        # "我朋友发朋友圈告别 说要去跳海 电话打不通": someone else about to act, now — not the news
        return False
    if _CRISIS_NEGATED.search(text[left:start]):
        return True
    word = text[start:end]
    if word.startswith("想") and _WISH_DENIED.search(text[max(0, start - 2):start]):
        return True  # "我不想死", "也没想死": said to say it is not so
    if any(m.start() <= start and end <= m.end() and not _OWN_THOUGHT_BEFORE.search(text[max(0, m.start() - 3):m.start()])
           for m in _QUOTED.finditer(text, max(0, start - 45), min(len(text), end + 45))):
        return True  # someone's words, not the writer's own thought ("我在想“跳下去就没事了吧”" stays)
    if _CRISIS_FIGURE.search(text[left:right]):  # in the same clause: "刚看完电影，回家就想跳楼" stays a crisis
        return True
    if "炭" in text[start:end] and _BUSINESS_BEFORE.search(text, max(0, start - 30), start):
        return True
    if "跳" in text[start:end] and "死" not in text[start:end] and _SPORT_BEFORE.search(text, max(0, start - 44), start):
        return True
    if _ADVICE_AFTER.match(text, end) and "我" not in text[left:start]:
        return True
    if _THOUGHT_BEFORE.search(text, max(0, start - 12), start) and _THOUGHT_DROPPED.match(text, end):
        return True
    before = text[max(0, start - 30):start]
    after = text[end:min(len(text), end + 80)]
    if _CRISIS_LONG_AGO.search(before) and _CRISIS_OVER.search(after) and not _CRISIS_BACK_AGAIN.search(after):
        return True
    return bool(_CRISIS_GENERIC.search(text[left:right]))


_PAUSE = re.compile(r"(?<=[\u3400-\u9fff])[ \t\u3000]+(?=[\u3400-\u9fff])")
# Residents' letters run to 2,000 characters; the rules read a bounded prefix and suffix so no input
# costs more than a few milliseconds.
MAX_DETECT_CHARS = 3000


# Anger said as an explosion ("气得要爆炸了", "肺都气炸了"): no danger word left for the rules.
_ANGER = re.compile("气(?:得|到)?(?:我)?(?:肺)?(?:都|要|快)?(?:要)?(?:爆炸|炸)(?:了)?|(?:肺|我)都(?:要|快)?(?:被)?气炸(?:了)?|(?:要|快)(?:被)?气晕(?:倒|过去)?(?:了)?")


# Cantonese as the rules read it a second time, in Mandarin words: "我阿爸晕低咗 冇反应" → "我阿爸晕倒了 没反应",
# "跌咗落海" → "跌了落海", "要生喇" → "要生了". The rules keep their Cantonese forms for the first reading.
_CANTONESE = (("晕低", "晕倒"), ("跌低", "跌倒"), ("𨋢", "电梯"), ("䢂", "电梯"),  # 䢂: 𨋢 as normalise() writes it
              ("石屎", "水泥"), ("佢哋", "他们"), ("佢", "他"),
              ("咗", "了"), ("冇", "没"), ("唔", "不"), ("喺", "在"), ("嘅", "的"), ("啲", "些"), ("嚟", "来"),
              ("畀", "被"), ("落去", "下去"), ("落嚟", "下来"), ("喇", "了"), ("企", "站"), ("嘢", "东西"),
              ("好似", "好像"), ("点算", "怎么办"), ("成个人", "整个人"))
_CANTONESE_MARK = re.compile("[咗冇唔喺佢嘅啲嚟畀喇𨋢䢂]|晕低|跌低|石屎")


def mandarin(text: str) -> str:
    """``text`` with the Cantonese words the rules need written in Mandarin (unchanged without any)."""
    if not _CANTONESE_MARK.search(text):
        return text
    for canto, mando in _CANTONESE:
        text = text.replace(canto, mando)
    return text


def tells_past(text: str) -> bool:
    """Whether ``text`` names a time gone by ("上礼拜", "昨晚", "去年", "3月5号")."""
    return bool(_PAST.search(text))


def calm(text: str) -> str:
    """Anger said as an explosion ("气炸了", "肺都气炸了") written as anger, for a reader that would take the
    explosion literally (the danger model)."""
    return _ANGER.sub("很生气", text)


def prepare(text: str) -> str:
    """The text as the rules read it: normalised, bounded, anger said as an explosion taken for anger, and
    a space a speaker's pause or a typist put between phrases kept as a comma (it ends a clause;
    normalise() alone drops it between Chinese characters). Idempotent."""
    return _ANGER.sub("很生气", normalise(_PAUSE.sub("，", text[:MAX_DETECT_CHARS].strip())))


def detect(text: str) -> Emergency | None:
    """The emergency in `text`, or None. `text` may be raw: it is normalised here.

    >>> detect("楼下着火了").number
    '119'
    >>> detect("120上周来得太慢了") is None
    True
    """
    return assess(text)[0]


def assess(text: str) -> tuple[Emergency | None, tuple[str, ...]]:
    """(the emergency in ``text`` or None, the danger words found but set aside as past, a hazard, the
    news or a report). Something set aside tells a detector not to raise the alarm on the same words."""
    if not isinstance(text, str):
        raise TypeError(f"detect() needs a str, got {type(text).__name__}")
    clean = prepare(text)
    if not clean:
        return None, ()
    long_letter = len(clean) >= _LONG_LETTER
    set_aside: list[str] = []
    hits: list[tuple[str, EmergencyNumber, str]] = []
    # Cantonese is read twice: as written, and in Mandarin words (a hit found in both counts once).
    spoken = mandarin(clean)
    readings = (clean,) if spoken == clean else (clean, spoken)
    for (kind, number, pattern), reading in ((rule, reading) for reading in readings for rule in _RULES):
        for match in pattern.finditer(reading):
            word = match.group(0)
            if kind == "self_harm":
                if not _crisis_taken_back(reading, match.start(), match.end()):
                    hits.append((kind, number, word))
                continue
            if kind != "medical" and _is_negated(reading, match.start()):
                continue
            if kind == "drowning" and _NOT_A_PERSON_BEFORE.search(reading[max(0, match.start() - 6):match.start()]):
                continue
            if kind == "smoke" and _NOT_SMOKE_BEFORE.search(reading[max(0, match.start() - 1):match.start()]):
                continue
            if kind == "violence" and _SIMILE.search(reading, max(0, match.start() - 3), match.start()):
                continue
            if kind in ("fire", "smoke", "gas") and _ONCE.match(reading, max(0, match.start() - 1)):
                set_aside.append(kind)  # "一起火整栋楼都跑不掉": once a fire starts — a hazard (一起火灾 is a fire)
                continue
            if kind in ("medical", "trapped") and _BODY_FIGURE.search(
                    reading, max(0, match.start() - 16), min(len(reading), match.end() + 16)):
                continue
            why = _not_now(reading, match.start(), match.end(), long_letter=long_letter)
            if why == "report" and kind == "missing":
                why = ""  # someone missing is missing now, however long the letter that tells it
            if why:
                set_aside.append(kind)
                continue
            hits.append((kind, number, word))
    if not hits and len(clean) >= _WHAT_IF_CHARS and _WHAT_IF.search(clean) and not _NOW.search(clean):
        # No danger word, and the resident explains what may happen ("万一倒下来砸到人怎么办"): a hazard to
        # report. Said so that a detector does not raise the alarm on the same text. Not in a short turn: a
        # recogniser writes 防止 for 房子 ("房子塌了" → "防止他的…").
        set_aside.append("what_if")
    elif not hits and _NOT_YET.search(clean):
        # No danger word, and the resident says the harm has not come yet ("路灯杆被撞歪了 现在还没倒", "电线垂到
        # 地上 快碰到人了"), "now" or not: an urgent hazard for the agency, not a call to 110/119/120.
        set_aside.append("what_if")
    aside = tuple(dict.fromkeys(set_aside))
    if not hits and (_PAST.search(clean) and _RESOLVED.search(clean) or _OVER_NOW.search(clean)):
        # Told after the fact, and over ("前天被电动车撞倒…现在在家养伤"): nothing for a detector to alarm on.
        aside = (*aside, "over")
    if not hits:
        return None, aside
    crisis = [h for h in hits if h[0] == "self_harm"]
    if crisis:
        # A crisis is never explained away as a past complaint.
        injured = bool(_SELF_HARM_DONE.search(clean)) or any(h[0] == "medical" for h in hits)
        return Emergency(number="120" if injured else "110", kind="self_harm", is_crisis=True,
                         matched=tuple(dict.fromkeys(h[2] for h in crisis))), aside
    kinds = tuple(dict.fromkeys(h[0] for h in hits))
    # "现在都不敢坐电梯", "现在也闻不到了": "now" said of what is not happening now.
    now = bool(_NOW.search(_NOW_NEGATED.sub("", clean)))
    about_the_past = bool(_PAST.search(clean)) and bool(_COMPLAINT.search(clean)) and not now
    if about_the_past:
        return None, (*aside, *kinds)
    # Only a mention of an ambulance or a number, in a complaint: "救护车收费太贵了，我要投诉".
    weak = all(h[0] == "call" or h[2] == "救护车" for h in hits)
    if weak and (_COMPLAINT.search(clean) or _CHRONIC.search(clean) or _NOISE.search(clean)) and not _NOW.search(clean):
        return None, (*aside, *kinds)
    # A complaint about a past call-out, whatever "now" says of the patient since ("投诉救护车来得太慢！我爸上个月
    # 突发脑梗…现在人在康复科").
    if weak and _FORMAL_COMPLAINT.search(clean) and _PAST.search(clean):
        return None, (*aside, *kinds)
    # A threat that is part of a long quarrel, the one who made it not there now ("跟我吵了大半年了 天天见到我就骂
    # 说要弄死我 今天他不在家"): a dispute for the 综治中心, not the police on the way.
    if all(h[0] == "violence" and _THREAT.search(h[2]) for h in hits) and (
            (_CHRONIC.search(clean) and not now) or (_QUARREL.search(clean) and _MAKER_GONE.search(clean))):
        return None, (*aside, *kinds)
    if weak and _NOT_A_BODY.search(clean) and not _NOW.search(clean.replace("救命", "")):
        return None, (*aside, *kinds)
    if all(h[0] in _CHRONIC_KINDS for h in hits) and _CHRONIC.search(clean) and not now:
        # "电梯老是困人", "好几次闻到煤气味…现在也闻不到了": a fault that keeps coming back, reported
        return None, (*aside, *kinds)
    # A bare call for help ("救命") says little about which service; a specific kind beats it.
    specific = [h for h in hits if h[0] != "call"] or hits
    # Afraid to open the door because of the heat or the smoke: the fire, not a threat.
    if any(h[0] in ("fire", "smoke", "gas") for h in specific):
        specific = [h for h in specific if h[0] != "afraid"] or specific
    # Someone hurt in a fight or at home: the police come first and bring the ambulance.
    if any(h[0] == "violence" for h in specific):
        specific = [h for h in specific if h[0] == "violence"]
    kind, number, _ = specific[0]
    matched = tuple(dict.fromkeys(h[2] for h in hits))
    return Emergency(number=number, kind=kind, is_crisis=False, matched=matched), aside


def crisis_number(text: str) -> EmergencyNumber:
    """Whom to call for a resident in a suicide/self-harm crisis that the rules did not name (the NLU
    did): 120 when the text says the harm is already done or someone is hurt, otherwise 110."""
    if not isinstance(text, str):
        raise TypeError(f"crisis_number() needs a str, got {type(text).__name__}")
    clean = prepare(text)
    if _SELF_HARM_DONE.search(clean):
        return "120"
    found = detect(clean)
    if found is not None and (found.number == "120" or found.kind == "medical"):
        return "120"
    return "110"


# Weak signs of which service an emergency needs, for danger the rules could not name (the model heard
# it): words of a fire or a rescue, of a body in trouble, of someone hurting someone.
_SIGNS_POLICE = re.compile("打人|打我|打她|打他|打起来|打架|斗殴|群殴|棍|棒|砖头|砍|捅|杀|抢|闯进|砸门|踹门|撬门|拿刀|持刀|刀|跟着我|"
                           "威胁|绑|撕票|拐|跟踪|非礼|猥亵|强奸|家暴|动手|勒索|弄死|不放我|不让我出|非法拘禁|扣押|"
                           "安全账户|洗钱|骗|陌生人的车|躺在(?:马路|路)|掐(?:她|他|我|住|着|脖子)|防盗网|爬(?:进|窗)")
_SIGNS_FIRE = re.compile("着火|起火|失火|火灾|火苗|大火|火光|火势|冒烟|浓烟|好大的烟|烟雾|呛|烧起来|燃烧|烧着|煤气|燃气|"
                         "液化气|爆炸|被困|困住|困在|出不去|下不去|卡住|卡在|夹住|拔不出|掉进|落水|溺水|电梯|山火|火花|焦糊|焦味|"
                         "烧焦|化学品|泄漏|储罐|烟冒|有烟|冒.{0,2}烟|压(?:在|住|扁)|被压|锁在[^，。]{0,3}(?:车|屋|房)|"
                         "外机|窗台外|挂在|悬在|淹|涵洞|积水很深|"
                         # 2026-12-05 (safety_dev11, residents_dev11): a car alight in Cantonese, a collapse, a manhole, fumes
                         "烧紧|着(?:晒|咗)火|喷火|火(?:很|好|咁)?(?:猛|大)|塌(?:了|咗|下来)|压着(?:人|个人|一个|工人|小孩|老人)|(?:下面|底下)压着|埋(?:了|住|着)|窨井|井下|化粪池|刺鼻|冲走|涨水|空调架|外墙|"
                         # smoke pouring in, crackling, a glow, a building cracking, water to the waist, a child shut in a car or
                         # on a balcony rail, gas in English (the development sets' number misses, 2026-12-05)
                         "烟(?:涌|灌|往|冲|攻|进)|噼里啪啦|噼噼啪啪|烧塑料|(?:橙|红)(?:色)?(?:的)?光|红红的[^。]{0,6}闪|裂缝[^。]{0,12}(?:越来越大|响)|掉渣|"
                         "齐腰|齐胸|水(?:还在|一直在|仲)?涨|车(?:里|内)?[^，。,.!?！？]{0,3}锁着|(?:往|爬)[^，。,.!?！？]{0,3}栏杆|栏杆(?:外|上爬)|(?i:gas (?:cylinder|leak|bottle)|hiss)")
_SIGNS_MEDICAL = re.compile("晕|昏|不省人事|没(?:有)?(?:反应|呼吸|意识|知觉|心跳)|喘不上|喘不过|呼吸困难|抽搐|抽筋|抽出|在抽|发抖|白沫|"
                            "发紫|呛奶|凝珠|消毒液|洁厕|杀虫剂|鼠药|"
                            "翻白眼|往上翻|口吐白沫|吐血|流血|出血|血|心脏|心口|胸口|胸痛|冷汗|中风|半边|半身|不能动|动不了|"
                            "含糊|说不出话|讲不出话|讲唔到|摔|跌|掉下来|坠|爬不起来|起不来|不动|唔郁|不应|唔应|叫不醒|"
                            "骨折|过敏|疹子|肿|中毒|吃错药|休克|高烧|难产|要生了|羊水|不行了|倒地|倒在地上|趴|痛得|疼得|"
                            "呕吐|上吐|下泻|站不起来|站不起|血流|断(?:了|咗)|电池|农药|"
                            # 2026-12-05: low blood sugar, stroke, scalds, a throat burnt, lying still, vomiting, mushrooms
                            "糖尿病|低血糖|满头大汗|不认识(?:人|我)|答不上|没力|往一边歪|烫(?:到|伤|着)|起泡|烧伤|喉咙|清洁块|"
                            "(?:没|冇)(?:有|晒)?(?:动静|声)|动静都(?:没|冇)|人[^，。,.!?！？]{0,6}倒(?:了|下)|一动不动|(?:在|一直|都在)吐|"
                            "菌子|野生菌|毒蘑菇|蘑菇")
# A body in trouble that words of a rescue would otherwise send to 119: stuck in the throat, not in a lift
# ("食紧粒糖卡住咗 面都紫晒"); pulled out of the water and still.
_SIGNS_MEDICAL_FIRST = re.compile(
    "噎|卡(?:住|咗|在)(?:了)?[^，。,.!?！？]{0,3}(?:喉|嗓子|紫|出声|说话|讲话|呼吸)|(?:糖|骨头|鱼刺|果冻|枣|花生|东西)[^，。,.!?！？]{0,3}卡住|"
    "(?:面|脸)都紫|(?:吞|吃|食)[^，。,.!?！？]{0,6}卡(?:住|咗)|"
    "(?:捞|救|拉|抱)(?:了)?(?:上来|上岸|出来)[^。!?！？]{0,12}(?:不动|不哭|没反应|没(?:有)?呼吸|没气|叫不醒)")


def danger_number(text: str) -> EmergencyNumber:
    """Whom to call for an emergency the rules did not name: 110 when someone is hurting someone (the
    police bring the ambulance), 119 for a fire or someone trapped, 120 for a body in trouble,
    otherwise 110 (the police dispatch the others)."""
    if not isinstance(text, str):
        raise TypeError(f"danger_number() needs a str, got {type(text).__name__}")
    clean = mandarin(prepare(text))
    if _SIGNS_MEDICAL_FIRST.search(clean):
        return "120"
    if _SIGNS_POLICE.search(clean):
        return "110"
    if _SIGNS_FIRE.search(clean):
        return "119"
    if _SIGNS_MEDICAL.search(clean):
        return "120"
    return "110"
