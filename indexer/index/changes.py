"""What each build changed in the knowledge base: new, amended, repealed, withdrawn, removed.

Every index version carries `digests.json` (per document: its source hash, status and a short
hash of each passage's text) and `changes.json` (the log: the previous version's entries plus
this build's). A build compares its digests with those of the version being served, so the log
says what an update changed as a reader sees it, not what was fetched.

A document's text counts as amended only if its source changed too (`sha256`, the hash of what
was fetched): a passage whose words differ only because the parser improved is not a change in
the law. Documents without a source hash (samples, hand-written Markdown) are compared by text.
Historical versions of legislation (`version_of`) are old text, never news, and are left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from kb.core.models import Passage
from kb.core.vocabularies import ENDED_STATUSES

KINDS = ("new", "amended", "repealed", "withdrawn", "removed")
ENDED = ENDED_STATUSES  # an ended status -> the kind of entry it makes (kb.core.vocabularies)
MAX_ENTRIES = 5000  # the log keeps this many entries, newest first
MAX_PROVISIONS = 50  # provisions named per entry; `provisions_total` says how many there were


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def digests(documents: Iterable[tuple[Any, list[Passage]]]) -> dict[str, dict[str, Any]]:
    """(Document, its passages) -> {document id: {title, doc_type, status, sha256, passages}}
    where passages maps each pin to [text hash, status, label]."""
    found: dict[str, dict[str, Any]] = {}
    for document, passages in documents:
        if document.extra.get("version_of"):
            continue
        found[document.id] = {
            "title": document.title,
            "doc_type": document.doc_type,
            "status": document.status,
            "status_date": document.status_date,
            "sha256": document.sha256,
            "passages": {p.pin: [_text_hash(p.text), p.status, p.label] for p in passages},
        }
    return found


def _provisions(pins: list[str], labels: dict[str, list[str]]) -> list[dict[str, str]]:
    return [{"pin": pin, "label": labels[pin][2]} for pin in pins[:MAX_PROVISIONS]]


def _entry(when: str, kind: str, doc_id: str, doc: dict[str, Any], pins: list[str]) -> dict:
    passages = doc.get("passages") or {}
    entry = {
        "id": f"{when}/{kind}/{doc_id}",
        "date": when,
        "kind": kind,
        "document_id": doc_id,
        "title": doc.get("title") or doc_id,
        "doc_type": doc.get("doc_type"),
        "status": doc.get("status"),
        "status_date": doc.get("status_date"),
        "provisions": _provisions(pins, passages) if passages else [],
        "provisions_total": len(pins),
    }
    return entry


def _document_changes(when: str, doc_id: str, old: dict, new: dict) -> list[dict[str, Any]]:
    entries = []
    old_status, new_status = old.get("status"), new.get("status")
    if new_status != old_status and new_status in ENDED:
        entries.append(_entry(when, ENDED[new_status], doc_id, new, []))
    ended = _ended_provisions(old.get("passages") or {}, new.get("passages") or {})
    if new_status not in ENDED:
        entries += [_entry(when, kind, doc_id, new, pins) for kind, pins in ended.items()]
    if not (old.get("sha256") and old.get("sha256") == new.get("sha256")):  # source changed
        already = {pin for pins in ended.values() for pin in pins}
        amended = _amended_entry(when, doc_id, old, new, already)
        if amended:
            entries.append(amended)
    return entries


def _ended_provisions(old_p: dict, new_p: dict) -> dict[str, list[str]]:
    """Provisions that have just been repealed or withdrawn, by kind of change."""
    ended: dict[str, list[str]] = {}
    for pin, (_, status, _) in new_p.items():
        before = old_p.get(pin)
        if status in ENDED and (before is None or before[1] != status):
            ended.setdefault(ENDED[status], []).append(pin)
    return ended


def _amended_entry(when: str, doc_id: str, old: dict, new: dict, already: set[str]):
    """The `amended` entry: provisions whose text changed or is new, and those gone; None if
    there are none (provisions already logged as repealed or withdrawn are left out)."""
    old_p, new_p = old.get("passages") or {}, new.get("passages") or {}
    amended = [
        pin
        for pin, (digest, _, _) in new_p.items()
        if pin not in already and (pin not in old_p or old_p[pin][0] != digest)
    ]
    removed = [pin for pin in old_p if pin not in new_p]
    if not (amended or removed):
        return None
    entry = _entry(when, "amended", doc_id, new, amended)
    if removed:
        entry["removed_provisions"] = [
            {"pin": pin, "label": old_p[pin][2]} for pin in removed[:MAX_PROVISIONS]
        ]
    return entry


def diff(
    previous: dict[str, dict[str, Any]] | None,
    current: dict[str, dict[str, Any]],
    when: str,
) -> list[dict[str, Any]]:
    """This build's log entries, comparing its digests with the served version's (None: the
    first build, where every document is new)."""
    previous = previous or {}
    entries = []
    for doc_id in sorted(current):
        doc = current[doc_id]
        if doc_id not in previous:
            entries.append(_entry(when, "new", doc_id, doc, []))
        else:
            entries.extend(_document_changes(when, doc_id, previous[doc_id], doc))
    for doc_id in sorted(set(previous) - set(current)):
        entries.append(_entry(when, "removed", doc_id, previous[doc_id], []))
    return entries


def merged_log(earlier: list[dict[str, Any]], entries: list[dict[str, Any]]) -> list[dict]:
    """The log to write: this build's entries first, then the earlier ones, at most MAX_ENTRIES."""
    return (entries + [e for e in earlier if isinstance(e, dict)])[:MAX_ENTRIES]


def now() -> str:
    """The build's time, to the microsecond: it also tells one build's entries from the next."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def since(log: list[dict[str, Any]], day: str | None) -> list[dict[str, Any]]:
    """Entries on or after the day (YYYY-MM-DD), newest first."""
    if not day:
        return list(log)
    return [e for e in log if str(e.get("date", ""))[:10] >= day]


def served(index_dir) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
    """The served version's digests (None if there is no served version, or it predates them)
    and change log, and a problem if they could not be read (the log then starts afresh)."""
    from indexer.index import store

    try:
        path = store.current_dir(index_dir)
    except store.IndexMissing:
        return None, [], None
    found: list[Any] = []
    for name, empty in (("digests.json", None), ("changes.json", [])):
        try:
            found.append(store.read_json(path, name))
        except FileNotFoundError:
            found.append(empty)
        except (OSError, ValueError) as exc:
            return None, [], f"the served index's {name} could not be read ({exc})"
    digest, log = found
    digest = digest if isinstance(digest, dict) else None
    return digest, (log if isinstance(log, list) else []), None
