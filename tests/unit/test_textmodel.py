"""router.domain.textmodel and scripts/train_intake.fit: the intake model's two heads read a text each as a
vectoriser fitted on its own training text would, so data added for one head cannot move the other's
answers; an artefact of the older shape (one shared IDF) still loads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from router.domain.textmodel import Head, LinearTextModel

ROOT = Path(__file__).resolve().parents[2]


def _trainer():
    spec = importlib.util.spec_from_file_location("train_intake_under_test", ROOT / "scripts" / "train_intake.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CITY = [("楼下路灯坏了好几天", "city"), ("小区门口垃圾没人清理", "city"), ("居住证在哪里办理", "city"),
        ("社保卡丢了怎么补办", "city"), ("今天天气怎么样", "other"), ("讲个笑话吧", "other"),
        ("推荐一部电影", "other"), ("股票明天会涨吗", "other")] * 2
DANGER = [("楼下着火了快来人", "emergency"), ("我爸晕倒了叫不醒", "emergency"), ("有人拿刀砍人", "emergency"),
          ("我不想活了", "crisis"), ("活着没意思想结束", "crisis"), ("路灯坏了请修", "none"),
          ("噪音太大睡不着", "none"), ("怎么办居住证", "none")] * 2
TEXTS = ["楼道里全是烟", "我想去死", "深圳明天会下雨吗", "路灯又坏了"]


def test_data_added_to_the_city_head_leaves_the_danger_head_as_it_was() -> None:
    trainer = _trainer()
    before = LinearTextModel.from_state(*trainer.fit({"city": CITY, "danger": DANGER}))
    more_city = CITY + [("深圳明天会下雨吗带不带伞", "other"), ("福田哪里的早茶好吃", "other"),
                        ("南山区的公交站台坏了", "city"), ("着火的消防通道被占了", "city")] * 2
    after = LinearTextModel.from_state(*trainer.fit({"city": more_city, "danger": DANGER}))
    for text in TEXTS:
        a, b = before.predict(text)["danger"], after.predict(text)["danger"]
        assert a.keys() == b.keys()
        assert all(abs(a[k] - b[k]) < 1e-5 for k in a), (text, a, b)
    # ...while the city head did learn from it
    assert after.predict("深圳明天会下雨吗")["city"]["other"] > before.predict("深圳明天会下雨吗")["city"]["other"]


def test_an_artefact_with_one_shared_idf_still_loads_and_reads_alike() -> None:
    vocab = ["火", "着火", "路", "灯"]
    idf = np.array([1.5, 2.0, 1.2, 1.1])
    w = np.array([[2.0], [3.0], [-1.0], [-1.0]])
    shared = LinearTextModel({t: i for i, t in enumerate(vocab)}, idf, [Head("danger", ["none", "alarm"], w, np.zeros(1))])
    own = LinearTextModel({t: i for i, t in enumerate(vocab)}, None,
                          [Head("danger", ["none", "alarm"], w, np.zeros(1), idf=idf.copy())])
    for text in ("着火了", "路灯", "天气"):
        assert shared.predict(text)["danger"] == pytest.approx(own.predict(text)["danger"])
    assert shared.predict("着火了")["danger"]["alarm"] > 0.5 > shared.predict("路灯")["danger"]["alarm"]


def test_a_head_without_an_idf_needs_the_shared_one() -> None:
    with pytest.raises(ValueError):
        LinearTextModel({"火": 0}, None, [Head("danger", ["a", "b"], np.zeros((1, 1)), np.zeros(1))])


def test_outside_sets_teach_danger_without_splitting_an_unmarked_crisis(tmp_path: Path, monkeypatch) -> None:
    trainer = _trainer()
    data = tmp_path / "tests" / "data"
    data.mkdir(parents=True)
    rows = [
        {"text": "楼下仓库在冒黑烟 里面还有人", "outcome": "emergency", "emergency_number": "119"},
        {"text": "我现在站在天台边上 风好大 以后不用再找我了", "outcome": "emergency", "emergency_number": "110"},
        {"text": "我不想活了 药都准备好了", "outcome": "emergency", "emergency_number": "120", "crisis": True},
        {"text": "这几天好难熬", "outcome": "emergency", "emergency_number": "110", "style": "indirect crisis"},
        {"text": "上周楼下着过火 现在消防通道还堵着", "outcome": "ticket", "emergency_number": None},
        {"text": "今天天气真好", "outcome": "out_of_scope", "emergency_number": None},
    ]
    (data / "one.jsonl").write_text("\n".join(__import__("json").dumps(r, ensure_ascii=False) for r in rows),
                                    encoding="utf-8")
    monkeypatch.setattr(trainer, "ROOT", tmp_path)
    monkeypatch.setattr(trainer, "OUTSIDE_SETS", ("one",))
    got = dict(trainer.outside_danger_rows())
    assert got["楼下仓库在冒黑烟 里面还有人"] == "emergency"
    assert got["我不想活了 药都准备好了"] == "crisis"          # marked by the author
    assert got["这几天好难熬"] == "crisis"                    # said so in the style
    # an edge the author marked only with a number: never taught as an emergency (a crisis if the rules know it)
    assert got.get("我现在站在天台边上 风好大 以后不用再找我了") in (None, "crisis")
    assert got["上周楼下着过火 现在消防通道还堵着"] == "none"
    assert got["今天天气真好"] == "none"
