"""Cross-references between passages: who cites what, and what amends what.

Citations are found in each passage's text with kb.core.cite (guidance citing "section 3 of the
Local Government Act 1999", TUPE's own "regulation 13"); amendments come from the CLML
parser's `amends` / `amended_by` attributes (s 138 LGPIHA 2007 inserting s 3A LGA 1999).
Where a document has legislation.gov.uk's effects (its `effects` front matter), they win over
those attributes: see _prefer_effects.
"""

from __future__ import annotations

import re
from collections import defaultdict

from indexer.passages import ParsedDocument
from kb.core.cite import Registry, find_citations
from kb.core.effects import affecting_paths, earliest_in_force
from kb.core.models import Effect, effects

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


def _issued_under(doc, registry: Registry) -> str | None:
    """The instrument a guidance document says it is issued under (`issued_under` front
    matter: an id or a citation), which its short references mean until it names another."""
    value = doc.extra.get("issued_under")
    if not value:
        return None
    found = registry.get(str(value)) or registry.lookup(str(value))
    return found.id if found else None


def _last_named(found, registry: Registry) -> str | None:
    """The last Act or SI a passage cites (the one its successors' short references mean)."""
    for ref in reversed(found):
        inst = registry.get(ref.instrument)
        if inst is not None and inst.is_legislation:
            return inst.id
    return None


def collect(parsed: list[ParsedDocument], registry: Registry) -> dict[str, dict[str, list[str]]]:
    """Fill each passage's `cites` and return the link maps stored with the index version."""
    known = {f"{item.document.id}/{node.pin}" for item in parsed for node in item.nodes}
    indexed_docs = {item.document.id for item in parsed}
    cites: dict[str, list[str]] = {}
    for item in parsed:
        cites.update(_cite_passages(item, registry, known, indexed_docs))
    amends, amended_by, detail = _amendment_maps(parsed)
    for item in parsed:
        found = effects(item.document.extra.get("effects"))
        if found:
            _prefer_effects(item, found, amends, amended_by, detail)
    cited_by: dict[str, list[str]] = defaultdict(list)
    for source, targets in cites.items():
        for target in targets:
            cited_by[target].append(source)
    return {
        "cites": cites,
        "cited_by": dict(cited_by),
        "amends": {k: sorted(set(v)) for k, v in amends.items() if v},
        "amended_by": {k: sorted(set(v)) for k, v in amended_by.items() if v},
        # {"amends"|"amended_by": {passage: {other: {"change": …, "date": …}}}}
        "changes": {kind: detail[kind] for kind in ("amends", "amended_by")},
    }


def _cite_passages(
    item: ParsedDocument, registry: Registry, known: set[str], indexed_docs: set[str]
) -> dict[str, list[str]]:
    """Fill `cites` on the document's passages; {passage id: cited ids} for those citing any."""
    doc = item.document
    default = doc.id if doc.is_legislation and registry.get(doc.id) else None
    if not doc.is_legislation:
        default = _issued_under(doc, registry)
    cites = {}
    for passage in item.passages:
        if not _HINT.search(passage.text):
            continue
        found = find_citations(passage.text, registry, default_instrument=default)
        if not doc.is_legislation:
            # "the Act" and a bare "section 2(2)" in guidance mean the Act it last named
            # ("issued under section 5 of the Example Commissioning Act 2031").
            default = _last_named(found, registry) or default
        targets = _targets(found, passage.id, known, indexed_docs)
        if targets:
            passage.cites = targets
            cites[passage.id] = targets
    return cites


def _targets(found, passage_id: str, known: set[str], indexed_docs: set[str]) -> list[str]:
    targets: list[str] = []
    for ref in found:
        if not ref.pin or ref.id == passage_id or ref.id in targets:
            continue
        # A provision of an indexed instrument that does not exist is a misreading
        # ("in section 9" of some other Act); citations of other instruments stay.
        if ref.instrument in indexed_docs and ref.id not in known:
            continue
        targets.append(ref.id)
    return targets


def _amendment_maps(parsed: list[ParsedDocument]):
    """amends, amended_by and their detail ({change, date}) from the nodes' attributes."""
    amends: dict[str, list[str]] = defaultdict(list)
    amended_by: dict[str, list[str]] = defaultdict(list)
    detail: dict[str, dict] = {"amends": {}, "amended_by": {}}
    quoted: list[tuple[str, str, str | None, str | None]] = []  # from `amends`, merged last
    for item in parsed:
        for node in item.nodes:
            node_id = f"{item.document.id}/{node.pin}"
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
    return amends, amended_by, detail


def _nearest(pin: str, pins: set[str]) -> str | None:
    """The pin itself if it is a node, else the nearest enclosing node's pin."""
    while pin and pin not in pins:
        pin = pin.rpartition("/")[0]
    return pin or None


def _of_item(path: str, item: str) -> bool:
    return path == item or path.startswith(item + "/")


def _prefer_effects(
    item: ParsedDocument,
    found: list[Effect],
    amends: dict[str, list[str]],
    amended_by: dict[str, list[str]],
    detail: dict[str, dict],
) -> None:
    """The effects feed wins over commentary links: for each provision an applied textual
    effect names, the effect's affecting provisions are its `amended_by` links from that
    affecting item (a commentary link to another provision of the same item is dropped, a
    missing one added), with the effect's type and first in-force date as change and date."""
    for node_id, sources in _wanted_links(item, found).items():
        items = {effect.affecting for effect in sources.values()}
        for other in list(amended_by.get(node_id, [])):
            if other not in sources and any(_of_item(other, i) for i in items):
                _unlink(node_id, other, amends, amended_by, detail)
        for source, effect in sources.items():
            if source not in amended_by[node_id]:
                amended_by[node_id].append(source)
                amends[source].append(node_id)
            known = {"change": effect.type, "date": earliest_in_force(effect)}
            detail["amended_by"].setdefault(node_id, {})[source] = dict(known)
            detail["amends"].setdefault(source, {})[node_id] = dict(known)


def _wanted_links(item: ParsedDocument, found: list[Effect]) -> dict[str, dict[str, Effect]]:
    """Node id -> affecting path -> the first applied textual effect linking them."""
    doc_id = item.document.id
    node_pins = {node.pin for node in item.nodes}
    wanted: dict[str, dict[str, Effect]] = {}
    for effect in found:
        if effect.outstanding or not effect.changes_text:
            continue  # not (yet) in the text, or not a change to its words
        for pin in effect.affected_pins:
            node_pin = _nearest(pin, node_pins)
            if node_pin is None:
                continue
            sources = wanted.setdefault(f"{doc_id}/{node_pin}", {})
            for source in affecting_paths(effect):
                sources.setdefault(source, effect)
    return wanted


def _unlink(node_id: str, other: str, amends, amended_by, detail) -> None:
    amended_by[node_id] = [v for v in amended_by[node_id] if v != other]
    if other in amends:
        amends[other] = [v for v in amends[other] if v != node_id]
        if not amends[other]:
            del amends[other]
    detail["amended_by"].get(node_id, {}).pop(other, None)
    detail["amends"].get(other, {}).pop(node_id, None)
