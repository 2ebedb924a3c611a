"""How a resident names themselves: "我叫李明", "我是张阿姨", "联系人邓先生", "叫我老周就行".

A ticket's contact name is optional, but an operator calling back wants to say "王阿姨您好". DIET
learns names poorly from a few dozen examples (a name is almost always a word it never saw), so names
are found by the cue a resident puts in front of them and the shape of a Chinese name: a surname from
the common list, then one or two given-name characters or a form of address (先生, 阿姨, 伯…).

Precision first: "我是南山区的", "我是高新园业主", "我是租户" must not yield a name. So the weak cue
"我是" accepts only a surname with a form of address, or a full name that ends the clause; given-name
characters never include place or function characters (区, 街, 路, 的, 在…).

Pure functions, no I/O; the bot's PersonNameExtractor (bot/components/entities.py) calls
:func:`find_person_name` after normalisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PersonName", "find_person_name"]

# The ~200 most common surnames (公安部 surname statistics), single characters, plus compound ones.
_SINGLE = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古"
    "吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻"
    "位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦"
    "戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但"
    "尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
_COMPOUND = ("欧阳", "司马", "上官", "诸葛", "司徒", "东方", "夏侯", "皇甫", "尉迟", "公孙", "慕容", "长孙",
             "宇文", "令狐", "端木", "澹台", "南宫", "轩辕", "钟离", "万俟")
# Surnames that are also everyday words at the start of a clause ("我是南山…", "我是和…", "我是在…");
# after the weak cue 我是 they need a form of address ("我是高先生").
# The first characters of Shenzhen's districts and of many streets are surnames too (罗湖, 龙华, 沙井).
_AMBIGUOUS_AFTER_SHI = set("南高和在于成明文安平全华海金白方向时常国区花强乐元信利富由云应原相来都"
                           "连路石谷关江宁林罗龙盐坪光沙石新布横")

_TITLES = ("先生", "女士", "小姐", "太太", "阿姨", "叔叔", "叔", "伯伯", "阿伯", "伯", "阿婆", "婆婆", "大爷",
           "大妈", "大姐", "大哥", "奶奶", "爷爷", "师傅", "老师", "医生", "律师", "经理", "主任", "同学",
           "姐", "哥", "姨", "工")
_TITLES_LONGEST_FIRST = sorted(_TITLES, key=len, reverse=True)  # "阿姨" before "姨"
# Given-name characters never include these: places, buildings, function words, verbs of the clause.
_NOT_GIVEN = set("区街道路市省县镇村社号楼栋室座巷弄苑园府庭湾城厦院站口桥的在住要想来去打说是有没不了吗呢啊吧呀"
                 "哦嘛这那哪个们里边面就也都还和跟与及或给被把从到对向个位业主租户居民人家")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_STRONG_CUES = r"(?:我叫|我的名字(?:是|叫)|名字(?:是|叫)|本人(?:是|叫)?|姓名(?:是|为|:)?|联系人(?:是|写|叫|:)?|叫我|称呼(?:我)?(?:为)?)"
_WEAK_CUE = r"(?:我是|我系)"
_SURNAME_CUE = r"(?:我姓|免贵姓|本人姓)"
_END = re.compile(r"(?=$|[\s,，。.!！?？;；、:：)）]|电话|手机|号码|联系|住在|家住|就行|就可以|就好|即可|好了)")
# 老/小/阿 + surname, except where that is an ordinary word: 老师, 小区, 阿姨…
_NOT_FAMILIAR = set("师区人家乡姨伯公婆板")


@dataclass(frozen=True)
class PersonName:
    value: str
    start: int
    end: int


def _surname_at(text: str, i: int) -> str | None:
    for c in _COMPOUND:
        if text.startswith(c, i):
            return c
    return text[i] if i < len(text) and text[i] in _SINGLE else None


def _name_after(text: str, i: int, *, weak: bool) -> PersonName | None:
    """The name starting at ``i`` (just after a cue), if the text there has the shape of one."""
    # 老周 / 小李 / 阿珍 forms
    if (i + 2 <= len(text) and text[i] in "老小阿" and text[i + 1] in _SINGLE
            and text[i + 1] not in _NOT_FAMILIAR and _END.match(text[i + 2 :])):
        return PersonName(text[i : i + 2], i, i + 2)
    surname = _surname_at(text, i)
    if surname is None:
        return None
    j = i + len(surname)
    for title in _TITLES_LONGEST_FIRST:
        if text.startswith(title, j):
            end = j + len(title)
            if _END.match(text[end:]) or not weak:
                return PersonName(text[i:end], i, end)
    if weak and len(surname) == 1 and surname in _AMBIGUOUS_AFTER_SHI:
        return None
    # surname + 1..2 given-name characters, ending the clause
    for n in (2, 1):
        given = text[j : j + n]
        if len(given) == n and all(_HAN.match(ch) and ch not in _NOT_GIVEN for ch in given):
            end = j + n
            # a form of address may follow the full name ("李明先生")
            rest = text[end:]
            title = next((t for t in _TITLES_LONGEST_FIRST if rest.startswith(t)), "")
            if _END.match(rest[len(title) :]):
                return PersonName(text[i:end], i, end)
    return None


def find_person_name(text: str) -> PersonName | None:
    """The name a resident gives for themselves in ``text`` (normalised), or None."""
    if not text:
        return None
    for m in re.finditer(_STRONG_CUES, text):
        found = _name_after(text, m.end(), weak=False)
        if found is not None:
            return found
    for m in re.finditer(_SURNAME_CUE, text):
        surname = _surname_at(text, m.end())
        if surname is None:
            continue
        end = m.end() + len(surname)
        # "我姓王" / "免贵姓王，…": the surname alone
        if _END.match(text[end:]) or re.match(r"(?:的|啊|呀)", text[end:]):
            return PersonName(surname, m.end(), end)
    for m in re.finditer(_WEAK_CUE, text):
        found = _name_after(text, m.end(), weak=True)
        if found is not None:
            return found
    return None
