"""Reference data from files: the routing table, the taxonomy's keyword rules, the 属地 divisions and grids,
and the service catalogue.

The domain builds each of these from rows it is given and never opens a file; this module reads the
files (paths from ``Settings.data_dir`` and the repository's data/ folder) and hands the rows over.
Errors name the file and line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from router.domain.catalogue import (
    DEFAULT_MIN_SCORE,
    Catalogue,
    CatalogueError,
    ServiceItem,
    halls_from_rows,
    items_from_records,
    street_names_from_rows,
    synonyms_from_rows,
    terms_from_rows,
)
from router.domain.classifier import KeywordRule, keyword_rules_from_rows
from router.domain.jurisdiction import JurisdictionDataError, JurisdictionResolver
from router.domain.routing import RoutingError, RoutingTable

__all__ = [
    "ROUTER_DATA",
    "SHARED_DATA",
    "DIVISIONS",
    "IMPORTED_CATALOGUES",
    "read_rows",
    "load_routing",
    "load_keyword_rules",
    "load_resolver",
    "read_items",
    "load_catalogue",
]

ROOT = Path(__file__).resolve().parents[2]
ROUTER_DATA = ROOT / "router" / "data"  # the product's reviewed tables (Settings.data_dir)
SHARED_DATA = ROOT / "data"  # data sets copied in with their sources and terms
DIVISIONS = SHARED_DATA / "shenzhen_divisions.csv"
TAXONOMY = SHARED_DATA / "taxonomy.csv"
IMPORTED_CATALOGUES = (SHARED_DATA / "service_items_gdzwfw.jsonl",)


def read_rows(path: Path | str, *, comments: bool = False, encoding: str = "utf-8") -> list[dict[str, str]]:
    """A CSV file's rows as dicts (values stripped with ``comments``, which also drops the leading ``#``
    lines that say where a file's data came from)."""
    path = Path(path)
    raw = path.read_text(encoding=encoding)
    if not comments:
        return list(csv.DictReader(io.StringIO(raw, newline="")))
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return [{k: (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(io.StringIO("\n".join(lines)))]


# --- routing and keyword rules ------------------------------------------------------------------


def load_routing(path: Path | str | None = None) -> RoutingTable:
    path = Path(path) if path is not None else ROUTER_DATA / "routing.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            return RoutingTable.from_records(reader.fieldnames or (), reader, source=str(path))
        except csv.Error as exc:
            raise RoutingError(f"{path}: {exc}") from exc


def load_keyword_rules(keywords: Path | str | None = None, taxonomy: Path | str | None = None,
                       ) -> list[KeywordRule]:
    keywords = Path(keywords) if keywords is not None else ROUTER_DATA / "taxonomy_keywords.csv"
    taxonomy = Path(taxonomy) if taxonomy is not None else TAXONOMY
    return keyword_rules_from_rows(read_rows(keywords), read_rows(taxonomy), source=str(keywords))


# --- 属地 -----------------------------------------------------------------------------------------


def _jurisdiction_rows(path: Path) -> list[dict[str, str]]:
    try:
        return read_rows(path, comments=True)
    except FileNotFoundError as exc:
        raise JurisdictionDataError(f"data file not found: {path}") from exc


def load_resolver(data_dir: Path | str | None = None, divisions: Path | str | None = None,
                  grids: Path | str | None = None) -> JurisdictionResolver:
    """Divisions, landmarks, aliases and grids. ``grids`` defaults to data_dir/grids_sample.csv; a city
    replaces it with its own grid layer (same columns)."""
    data_dir = Path(data_dir) if data_dir is not None else ROUTER_DATA
    alias_path = data_dir / "place_aliases.csv"
    return JurisdictionResolver.from_rows(
        divisions=_jurisdiction_rows(Path(divisions) if divisions is not None else DIVISIONS),
        landmarks=_jurisdiction_rows(data_dir / "landmarks.csv"),
        aliases=_jurisdiction_rows(alias_path) if alias_path.exists() else [],
        grids=_jurisdiction_rows(Path(grids) if grids is not None else data_dir / "grids_sample.csv"),
    )


# --- the service catalogue ----------------------------------------------------------------------


def _records(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            data = data.get("items", data) if isinstance(data, dict) else data
            if not isinstance(data, list):
                raise CatalogueError(f"{path}: expected a list of items or {{'items': [...]}}")
            return data
        if suffix == ".csv":
            return read_rows(path, encoding="utf-8-sig")
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise CatalogueError(f"{path}: cannot read catalogue: {exc}") from exc
    raise CatalogueError(f"{path}: unsupported catalogue format {suffix!r} (use .jsonl, .json or .csv)")


def read_items(path: Path | str, *, source: str | None = None, relevant_only: bool = True) -> list[ServiceItem]:
    """One catalogue file (JSONL, JSON or CSV; see ``items_from_records``)."""
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"catalogue source not found: {path}")
    scrape_source = source or ("gdzwfw-2021" if "gdzwfw" in path.name else path.stem)
    return items_from_records(_records(path), source=source or path.stem, scrape_source=scrape_source,
                              relevant_only=relevant_only)


def load_catalogue(
    data_dir: Path | str | None = None,
    extra_sources: Iterable[Path | str] = (),
    *,
    imported_sources: Iterable[Path | str] | None = None,
    divisions: Path | str | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
) -> Catalogue:
    """Authored items from ``data_dir/services/*.jsonl``, the imported provincial catalogue
    (``imported_sources``, default the 广东政务服务网 scrape in data/) and any ``extra_sources`` a city
    provides (CSV, JSON or JSONL), with the synonym table and halls from ``data_dir`` and the street names
    of ``divisions`` (so that "我住横岗" is read as where the resident lives, not the need)."""
    data_dir = Path(data_dir) if data_dir is not None else ROUTER_DATA
    services = data_dir / "services"
    if not services.is_dir():
        raise CatalogueError(f"no service items directory at {services}")
    items: list[ServiceItem] = []
    for path in sorted(services.glob("*.jsonl")):
        items.extend(read_items(path))
    sources = [*(IMPORTED_CATALOGUES if imported_sources is None else imported_sources), *extra_sources]
    for path in dict.fromkeys(Path(p).resolve() for p in sources):  # the same file once
        items.extend(read_items(path))
    synonyms_path = data_dir / "service_synonyms.csv"
    synonym_rows = read_rows(synonyms_path) if synonyms_path.is_file() else []
    halls_path = data_dir / "service_halls.csv"
    templates_path = services / "where_to_apply.json"
    divisions_path = Path(divisions) if divisions is not None else DIVISIONS
    return Catalogue(
        items,
        synonyms=synonyms_from_rows(synonym_rows, source=str(synonyms_path)),
        terms=terms_from_rows(synonym_rows),
        places=street_names_from_rows(read_rows(divisions_path)) if divisions_path.is_file() else (),
        halls=halls_from_rows(read_rows(halls_path)) if halls_path.is_file() else (),
        templates=json.loads(templates_path.read_text(encoding="utf-8")) if templates_path.is_file() else {},
        min_score=min_score,
    )
