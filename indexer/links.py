"""Cross-references between passages: who cites what, and what amends what.

Citations are found in each passage's text with kb.cite (guidance citing "section 3 of the
Local Government Act 1999", TUPE's own "regulation 13"); amendments come from the CLML
parser's `amends` / `amended_by` attributes (s 138 LGPIHA 2007 inserting s 3A LGA 1999).
"""

from __future__ import annotations

import re
from collections import defaultdict

from indexer.passages import ParsedDocument
from kb.cite import Registry, find_citations

# Most passages cite nothing; this cheap test spares them the tokenizer.
_HINT = re.compile(
    r"\b(?:ss?|sections?|regs?|regulations?|sch(?:ed)?|schedules?|paras?|paragraphs?|"
    r"arts?|articles?|pts?|parts?)\b\.?\s*\(?[0-9IVX]|legislation\.gov\.uk",
    re.I,
)


def _split(value: str | None) -> list[str]:
    return [v.strip().strip("/") for v in re.split(r"[\s,]+", value or "") if v.strip()]


def amendments(attrs: dict[str, str], key: str) -> list[tuple[str, str | None, str | None]]:
    """(path, change, date) from `amended_by` / `amends` and their aligned `_change` / `_date`.

    `amended_by="a b" amended_by_change="inserted;words substituted"
    amended_by_date="2008-02-01;"`: one `;`-separated item per path, empty when unknown.
    """
    paths = _split(attrs.get(key))
    changes = (attrs.get(f"{key}_change") or "").split(";")
    dates = (attrs.get(f"{key}_date") or "").split(";")
    out = []
    for i, path in enumerate(paths):
        change = changes[i].strip() if i < len(changes) else ""
        date = dates[i].strip() if i < len(dates) else ""
        out.append((path, change or None, date or None))
    return out


def _merge(table: dict, node: str, other: str, change: str | None, date: str | None) -> None:
    """What is known of one amendment, from either end: the F note's words win."""
    known = table.setdefault(node, {}).setdefault(other, {"change": None, "date": None})
    known["change"] = known["change"] or change
    known["date"] = known["date"] or date


def collect(parsed: list[ParsedDocument], registry: Registry) -> dict[str, dict[str, list[str]]]:
    """Fill each passage's `cites` and return the link maps stored with the index version."""
    known = {f"{item.document.id}/{node.pin}" for item in parsed for node in item.nodes}
    indexed_docs = {item.document.id for item in parsed}
    cites: dict[str, list[str]] = {}
    amends: dict[str, list[str]] = defaultdict(list)
    amended_by: dict[str, list[str]] = defaultdict(list)
    detail: dict[str, dict] = {"amends": {}, "amended_by": {}}
    quoted: list[tuple[str, str, str | None, str | None]] = []  # from `amends`, merged last
    for item in parsed:
        doc = item.document
        default = doc.id if doc.is_legislation and registry.get(doc.id) else None
        for passage in item.passages:
            if not _HINT.search(passage.text):
                continue
            found = find_citations(passage.text, registry, default_instrument=default)
            targets = []
            for ref in found:
                if not ref.pin or ref.id == passage.id or ref.id in targets:
                    continue
                # A provision of an indexed instrument that does not exist is a misreading
                # ("in section 9" of some other Act); citations of other instruments stay.
                if ref.instrument in indexed_docs and ref.id not in known:
                    continue
                targets.append(ref.id)
            if targets:
                passage.cites = targets
                cites[passage.id] = targets
        for node in item.nodes:
            node_id = f"{doc.id}/{node.pin}"
            for target, change, date in amendments(node.attrs, "amends"):
                amends[node_id].append(target)
                amended_by[target].append(node_id)
                quoted.append((node_id, target, change, date))
            for source, change, date in amendments(node.attrs, "amended_by"):
                amended_by[node_id].append(source)
                amends[source].append(node_id)
                _merge(detail["amended_by"], node_id, source, change, date)
                _merge(detail["amends"], source, node_id, change, date)
    for source, target, change, date in quoted:  # after the F notes: their words win
        _merge(detail["amends"], source, target, change, date)
        _merge(detail["amended_by"], target, source, change, date)
    cited_by: dict[str, list[str]] = defaultdict(list)
    for source, targets in cites.items():
        for target in targets:
            cited_by[target].append(source)
    return {
        "cites": cites,
        "cited_by": dict(cited_by),
        "amends": {k: sorted(set(v)) for k, v in amends.items()},
        "amended_by": {k: sorted(set(v)) for k, v in amended_by.items()},
        # {"amends"|"amended_by": {passage: {other: {"change": …, "date": …}}}}
        "changes": {kind: detail[kind] for kind in ("amends", "amended_by")},
    }
