"""legislation.gov.uk's effects as this knowledge base shows them.

An effect (kb.core.models.Effect, from a legislation document's `effects` front matter) says what
changed which provision, when it came into force and whether the text held here shows it.
This module names both ends of an effect (a passage here, else an instrument the registry
knows, else the effect's own words) and finds guidance that cites a provision changed since
the guidance was issued ("stale citations").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kb.core import legislation, pins
from kb.core.cite import Instrument, Registry
from kb.core.models import LEGISLATION_TYPES, Document, Effect, change_affects
from kb.core.paths import passage_path

# What a stale-guidance sentence calls the document ("since this code was issued on …").
DOCUMENT_NOUNS = {
    "code_of_practice": "code",
    "circular": "circular",
    "correspondence": "letter",
    "local_policy": "policy",
}
# Words a stale-guidance sentence uses for an effect type that is one of them ("has been
# substituted"); any other type is "has been amended (words substituted)".
PLAIN_VERBS = ("substituted", "inserted", "repealed", "revoked", "omitted", "amended")


def earliest_in_force(effect: Effect) -> str | None:
    dates = effect.in_force_dates
    return dates[0] if dates else None


def affecting_paths(effect: Effect) -> list[str]:
    """The affecting provisions as paths ('ukpga/2007/28/section/138'), else the item's path."""
    return [f"{effect.affecting}/{pin}" for pin in effect.affecting_pins] or [effect.affecting]


def affected_pin(effect: Effect, pin: str | None = None) -> str | None:
    """The effect's affected pin that concerns the provision at pin (else its first one)."""
    if pin:
        for candidate in effect.affected_pins:
            if change_affects(candidate, pin):
                return candidate
    return effect.affected_pins[0] if effect.affected_pins else None


def on_pin(found: Iterable[Effect], pin: str) -> list[Effect]:
    """The effects shown on the provision at pin (Effect.affects)."""
    return [effect for effect in found if effect.affects(pin)]


def _instrument(registry: Registry, item: str) -> Instrument | None:
    return registry.get(item) or registry.by_identifier(item)


def cite_path(
    registry: Registry, path: str, item: str, words: tuple[str, str] = ("", "")
) -> tuple[str, str]:
    """(citation, short citation) of item + pin: from the registry when it knows the item,
    else from the effect's own words (its title and provisions text), else the path."""
    instrument = _instrument(registry, item)
    pin = path[len(item) :].strip("/") or None
    if instrument is not None:
        doc = instrument.to_document()
        return pins.oscola(doc, pin), pins.short_citation(doc, pin)
    path_of = legislation.parse_path(item)
    title = (
        legislation.citation_title(words[0], path_of.type if path_of else "") if words[0] else ""
    )
    text = ", ".join(part for part in (title, words[1]) if part) or path
    return text, text


def verb(effect_type: str) -> str:
    """'substituted' -> 'substituted'; 'words substituted' -> 'amended (words substituted)'."""
    plain = effect_type.strip().lower()
    return plain if plain in PLAIN_VERBS else f"amended ({effect_type.strip()})"


@dataclass
class Ends:
    """How to name and link a provision path: the index's passages, the registry, the base URL."""

    registry: Registry
    legislation_url: str
    indexed: Callable[[str], str | None]  # path -> the passage/provision id here, or None
    passage: Callable[[str], dict[str, Any] | None]  # id -> the indexed passage, or None

    def ref(self, path: str, item: str, words: tuple[str, str]) -> dict[str, Any]:
        here = self.indexed(path)
        hit = self.passage(here) if here else None
        if hit is not None:
            return {
                "id": here,
                "citation": hit["citation"],
                "short_citation": hit["short_citation"],
                "url": passage_path(here),
                "in_index": True,
            }
        citation, short = cite_path(self.registry, path, item, words)
        return {
            "id": here or path,
            "citation": citation,
            "short_citation": short,
            "url": passage_path(here) if here else f"{self.legislation_url.rstrip('/')}/{path}",
            "in_index": here is not None,
        }


def effect_json(effect: Effect, pin: str | None, ends: Ends, title: str = "") -> dict[str, Any]:
    """One effect as the API gives it, seen from the provision at pin of the affected item."""
    target = affected_pin(effect, pin)
    affected_path = f"{effect.affected}/{target}" if target else effect.affected
    return {
        "id": effect.id,
        "type": effect.type,
        "affected": ends.ref(affected_path, effect.affected, (title, effect.affected_provisions)),
        "affecting": ends.ref(
            affecting_paths(effect)[0],
            effect.affecting,
            (effect.affecting_title, effect.affecting_provisions),
        ),
        "affected_provisions": effect.affected_provisions,
        "affecting_provisions": effect.affecting_provisions,
        "in_force": [
            {
                "date": entry.date,
                "qualification": entry.qualification,
                "applied": entry.applied,
                "prospective": entry.prospective,
            }
            for entry in effect.in_force
        ],
        "applied": effect.applied,
        "outstanding": effect.outstanding,
        "notes": effect.notes,
    }


def as_outstanding_change(effect: Effect, pin: str | None = None) -> dict[str, str | None]:
    """An outstanding effect in the shape of `outstanding_changes` (kb.core.models.CHANGE_KEYS)."""
    return {
        "affected": effect.affected_provisions or None,
        "pin": affected_pin(effect, pin),
        "type": effect.type,
        "by": effect.affecting,
        "by_provisions": effect.affecting_provisions or None,
        "note": effect.notes,
    }


# --- sentences (pages, CLI) ---------------------------------------------------------------


def long_date(value: str | None) -> str:
    """'2031-04-01' -> '1 April 2031'; anything else as it is."""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    return f"{day.day} {day:%B %Y}"


def _and(parts: list[str]) -> str:
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def in_force_phrase(entries: list[dict[str, Any]]) -> str:
    """'in force 1 April 2031'; several dates with their qualifications ('in force 1 April
    2031 (for England) and 1 October 2031 (for Wales)'); '' when no date is known."""
    dated = sorted((entry for entry in entries if entry.get("date")), key=lambda e: e["date"])
    if not dated:
        return "prospective" if any(e.get("prospective") for e in entries) else ""
    parts = []
    for entry in dated:
        qualification = (entry.get("qualification") or "").strip()
        shown = qualification and (len(dated) > 1 or qualification.lower() != "wholly in force")
        parts.append(long_date(entry["date"]) + (f" ({qualification})" if shown else ""))
    return "in force " + _and(parts)


def effect_sentence(effect: dict[str, Any]) -> str:
    """'Inserted by ECA 2032 s 5, in force 1 April 2032'; an effect not yet made to the text:
    'Outstanding: substituted by …, in force … (not yet applied to this text)'."""
    who = effect["affecting"].get("short_citation") or effect["affecting"]["citation"]
    kind = effect["type"].strip()
    when = in_force_phrase(effect.get("in_force") or [])
    tail = f", {when}" if when else ""
    if effect.get("outstanding"):
        return f"Outstanding: {kind.lower()} by {who}{tail} (not yet applied to this text)"
    return f"{kind[:1].upper()}{kind[1:]} by {who}{tail}"


def stale_sentence(item: dict[str, Any], doc_type: str = "guidance") -> str:
    """'ECA 2031 s 3(4) has been substituted since this guidance was issued on 12 March
    2031 (by ECA 2032 s 5, in force 1 April 2032)'."""
    noun = DOCUMENT_NOUNS.get(doc_type, "guidance")
    affecting = item.get("affecting") or {}
    who = affecting.get("short_citation") or affecting.get("citation")
    by = f"by {who}, " if who else ""
    change = verb(item["type"])
    affected = item.get("affected") or item["cited"]
    if affected.startswith(item["cited"] + "/"):  # a change to a provision inside it
        change = f"amended ({item.get('affected_provisions') or affected} {item['type']})"
    return (
        f"{item['short_citation']} has been {change} since this {noun} was "
        f"{item['since_basis']} on {long_date(item['since'])} "
        f"({by}in force {long_date(item['date'])})"
    )


# --- stale guidance ------------------------------------------------------------------------


def guidance_date(doc: Document) -> tuple[str | None, str]:
    """The date guidance speaks from, and how a sentence names it: its last update
    (`public_updated`, from GOV.UK) when later than its publication, else its publication,
    else the date it applies from; (None, 'issued') when it has none (never stale)."""
    published = doc.published or doc.valid_from
    updated = str(doc.extra.get("public_updated") or "")[:10] or None
    if updated and (not published or updated > published):
        return updated, "last updated"
    return published, "issued"


@dataclass
class Cited:
    """An indexed document whose provisions guidance may cite, with its effects."""

    document: Document
    effects: list[Effect]


def stale_citations(
    doc: Document,
    cites: list[str],
    cited_docs: dict[str, Cited],
    registry: Registry,
    known: set[str],
) -> list[dict[str, Any]]:
    """For a passage of guidance (any document that is not legislation) citing `cites`: each
    effect changing the text of a cited provision (or one enclosing or inside it) that came
    into force after the guidance's date. An effect with no in-force date is not counted."""
    if doc.doc_type in LEGISLATION_TYPES:
        return []
    since, basis = guidance_date(doc)
    if not since:
        return []
    found: list[dict[str, Any]] = []
    for cited in cites:
        split = _split(cited, cited_docs)
        if split is None:
            continue
        target, pin = split
        for effect in on_pin(target.effects, pin):
            date = earliest_in_force(effect)
            if not effect.changes_text or not date or date <= since:
                continue
            source = affecting_paths(effect)[0]
            citation, short = _cite_source(effect, source, registry)
            changed = affected_pin(effect, pin)
            found.append(
                {
                    "cited": cited,
                    "affected": f"{target.document.id}/{changed}" if changed else cited,
                    "affected_provisions": effect.affected_provisions,
                    "citation": pins.oscola(target.document, pin),
                    "short_citation": pins.short_citation(target.document, pin),
                    "type": effect.type,
                    "date": date,
                    "effect": effect.id,
                    "affecting": {
                        "id": source,
                        "citation": citation,
                        "short_citation": short,
                        "in_index": source in known,
                    },
                    "since": since,
                    "since_basis": basis,
                }
            )
    return found


def _cite_source(effect: Effect, source: str, registry: Registry) -> tuple[str, str]:
    return cite_path(
        registry, source, effect.affecting, (effect.affecting_title, effect.affecting_provisions)
    )


def _split(passage_id: str, docs: dict[str, Cited]) -> tuple[Cited, str] | None:
    """A cited provision id as (its document, pin), longest document id first."""
    parts = passage_id.split("/")
    for cut in range(len(parts) - 1, 0, -1):
        found = docs.get("/".join(parts[:cut]))
        if found is not None:
            return found, "/".join(parts[cut:])
    return None
