"""The routing table: every taxonomy topic reaches a Shenzhen body, with the right way of handling it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from router.adapters.reference_data import load_routing
from router.domain.routing import Handling, Level, RoutingError, RoutingTable, escalation_chain

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return load_routing()


def taxonomy_pairs() -> set[tuple[str, str]]:
    with (REPO / "data" / "taxonomy.csv").open(encoding="utf-8") as fh:
        return {(r["l1"], r["l2"]) for r in csv.DictReader(fh)}


def test_every_taxonomy_pair_has_a_route(table: RoutingTable) -> None:
    pairs = taxonomy_pairs()
    assert len(pairs) == 118
    missing = pairs - table.pairs()
    assert not missing, f"no routing row for {sorted(missing)}"
    # And no row routes a topic the taxonomy does not have (a typo would silently never match).
    assert not table.pairs() - pairs


def test_l3_overrides_and_defaults(table: RoutingTable) -> None:
    # A dispute with the property manager is mediated locally, not sent to the housing bureau's desk.
    assert table.route("城乡建设", "住房保障与房地产", "物业服务").handling is Handling.MEDIATION
    assert table.route("城乡建设", "住房保障与房地产", "房产证登记").department == "规划和自然资源局"
    # A shop overcharging is enforced by market supervision; the development commission only sets prices.
    price = table.route("商贸旅游", "市场监管", "物价监督")
    assert (price.department, price.level) == ("市场监督管理局", Level.DISTRICT)
    # Other sub-topics of the same l2 fall back to the l2 default.
    default = table.route("城乡建设", "住房保障与房地产", "骗购")
    assert default.department == "住房和建设局" and default.handling is Handling.AGENCY
    # Illegal construction: the grid worker checks on the ground first.
    assert table.route("城乡建设", "城乡规划", "违章建筑").handling is Handling.GRID_CHECK
    assert table.route("政法", "社会治安", "消防安全").handling is Handling.GRID_CHECK
    assert table.route("劳动和社会保障", "城镇职工社会保险", "职工医疗保险").department == "医疗保障局"
    assert table.route("劳动和社会保障", "社保基金管理").level is Level.CITY


def test_l1_without_sub_topic_goes_to_the_general_agency(table: RoutingTable) -> None:
    assert table.route("教育文体").department == "教育局"
    assert table.route("环境保护", None, None).department == "生态环境局"
    assert table.route("劳动和社会保障", "没有这个二级").department == "人力资源和社会保障局"


def test_unknown_l1_is_an_error(table: RoutingTable) -> None:
    with pytest.raises(RoutingError):
        table.route("外星事务")


def test_bad_table_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "routing.csv"
    path.write_text("l1,l2,l3,department,level,handling\n教育文体,其他,,教育局,district,agency\n"
                    "教育文体,体育,,文体局,province,agency\n", encoding="utf-8")
    with pytest.raises(RoutingError, match=":3:"):
        load_routing(path)
    path.write_text("l1,l2,l3,department,level,handling\n教育文体,其他,,教育局,district,agency\n"
                    "教育文体,其他,,教育局,city,agency\n", encoding="utf-8")
    with pytest.raises(RoutingError, match="duplicate"):
        load_routing(path)
    path.write_text("l1,l2,department\n教育文体,其他,教育局\n", encoding="utf-8")
    with pytest.raises(RoutingError, match="columns"):
        load_routing(path)


def test_escalation_chain() -> None:
    assert escalation_chain() == ("社区", "街道", "区", "市")
    assert escalation_chain("街道") == ("街道", "区", "市")
    assert escalation_chain("市") == ("市",)
    with pytest.raises(ValueError):
        escalation_chain("省")


def test_route_to_dict(table: RoutingTable) -> None:
    assert table.route("交通运输", "出租车管理").to_dict() == {
        "department": "交通运输局", "level": "city", "handling": "agency"}
