"""Documents, nodes and passages: the small typed records every layer passes around."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from kb.core import legislation, vocabularies

# Document types and statuses: one table each in kb.core.vocabularies. CURRENT_STATUSES are
# material a user may rely on today; everything else is shown with a warning.
DOC_TYPES, LEGISLATION_TYPES = vocabularies.DOC_TYPES, vocabularies.LEGISLATION_TYPES
STATUSES, CURRENT_STATUSES = vocabularies.STATUSES, vocabularies.CURRENT_STATUSES

REQUIRED_FIELDS = ("id", "title", "doc_type", "status")

# A document id is a path of segments of letters, digits, '.', '_' and '-', each starting with a
# letter or digit: corpus files are named after it, and the build skips names starting with '.'
# or '_', so an id like 'local/_draft' or one with a NUL, '%' or '#' could never be served.
ID_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_ID_CHARS = 200
# Local documents (`kb add`) live in their own id space, apart from crawled legislation/guidance.
LOCAL_PREFIX = "local/"
URL_SCHEMES = ("http", "https")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")

# Territorial extent, as nation codes: what the `extent` facet and filter use.
NATIONS = ("E", "W", "S", "NI")
NATION_NAMES = {"E": "England", "W": "Wales", "S": "Scotland", "NI": "Northern Ireland"}

# Passages that are part of a document but not its law, named by their pin's first step.
NON_OPERATIVE_KINDS = {
    "introduction": "introductory text",
    "signature": "signature",
    "note": "explanatory note",
}


def extent_codes(value: str | list[str] | None) -> list[str]:
    """legislation.gov.uk's extent ('E+W+S+N.I.') as nation codes (['E', 'W', 'S', 'NI']).

    Codes come back in the order E, W, S, NI, each once; parts that name no nation are dropped.
    """
    if not value:
        return []
    parts = value if isinstance(value, list) else re.split(r"[+,\s]+", str(value))
    found: set[str] = set()
    for part in parts:
        code = str(part).upper().replace(".", "").strip()
        if code == "UK":  # 'U.K.' extends everywhere; 'G.B.' to England, Wales and Scotland
            found.update(NATIONS)
        elif code == "GB":
            found.update(("E", "W", "S"))
        elif code in NATIONS:
            found.add(code)
    return [code for code in NATIONS if code in found]


def extent_text(codes: list[str] | None) -> str:
    """['E', 'W', 'NI'] -> 'E+W+N.I.', as legislation.gov.uk writes it."""
    return "+".join("N.I." if code == "NI" else code for code in codes or [])


def non_operative_kind(pin: str) -> str:
    """What a non-operative passage is, for a label: 'explanatory note', 'signature', …"""
    return NON_OPERATIVE_KINDS.get(pin.split("/", 1)[0], "not operative text")


CHANGE_KEYS = ("affected", "pin", "type", "by", "by_provisions", "note")


def outstanding_changes(value: Any) -> list[dict[str, str | None]]:
    """A document's `outstanding_changes` front matter, checked: legislation.gov.uk's effects
    not yet applied to the text, each {affected, pin, type, by, by_provisions, note} with
    strings or None. Entries that are not mappings, or name neither what nor how, are dropped."""
    if not isinstance(value, list):
        return []
    changes = []
    for item in value:
        if not isinstance(item, dict):
            continue
        change = {key: _str(item.get(key)) for key in CHANGE_KEYS}
        if change["pin"]:
            change["pin"] = change["pin"].strip("/")
        if change["by"]:
            change["by"] = _instrument_id(change["by"])
        if change["affected"] or change["type"]:
            changes.append(change)
    return changes


def _instrument_id(value: str) -> str:
    """'http://www.legislation.gov.uk/id/uksi/2019/707' -> 'uksi/2019/707'."""
    return legislation.document_path(value) or value.strip().strip("/")


def change_affects(change_pin: str | None, pin: str) -> bool:
    """Whether an outstanding change to change_pin is shown on the provision at pin: the change
    is to that provision, to one enclosing it, or to something inside it (an insertion of
    s 86(9A) shows on s 86). A change with no pin is shown on its document only."""
    if not change_pin or not pin:
        return False
    return change_pin == pin or pin.startswith(change_pin + "/") or change_pin.startswith(pin + "/")


# Kinds of effect that change what a provision says or whether it applies (for stale guidance,
# and for "amended since"): legislation.gov.uk's effect types, matched on their words.
TEXTUAL_EFFECT_WORDS = ("substituted", "inserted", "repealed", "revoked", "omitted", "amended")


@dataclass
class InForce:
    """One in-force date of an effect: wholly, or for some extent or purpose ('qualification')."""

    date: str | None = None
    qualification: str | None = None
    applied: bool = False
    prospective: bool = False


@dataclass
class Effect:
    """One legislation.gov.uk effect on an item: what changed which provision, when, and whether
    the change has been made to the text held here (`applied`)."""

    id: str
    type: str
    affected: str  # item path: 'ukpga/1999/27'
    affecting: str
    affected_provisions: str = ""  # as legislation.gov.uk writes them: 's. 3(4)'
    affected_pins: list[str] = field(default_factory=list)  # 'section/3/4'
    affecting_title: str = ""
    affecting_provisions: str = ""
    affecting_pins: list[str] = field(default_factory=list)
    in_force: list[InForce] = field(default_factory=list)
    applied: bool = False
    requires_applied: bool = True
    modified: str | None = None
    notes: str | None = None

    @property
    def outstanding(self) -> bool:
        """Still to be made to the text held here."""
        return self.requires_applied and not self.applied

    @property
    def in_force_dates(self) -> list[str]:
        return sorted(f.date for f in self.in_force if f.date)

    @property
    def changes_text(self) -> bool:
        words = self.type.lower()
        return any(word in words for word in TEXTUAL_EFFECT_WORDS)

    def affects(self, pin: str) -> bool:
        """Whether the effect is on the provision at pin, one enclosing it, or one inside it."""
        return any(change_affects(p, pin) for p in self.affected_pins)

    @classmethod
    def from_front_matter(cls, item: Any) -> Effect:
        if not isinstance(item, dict):
            raise DocumentError("an effect must be a mapping")
        missing = [k for k in ("id", "type", "affected", "affecting") if not _str(item.get(k))]
        if missing:
            raise DocumentError("an effect is missing " + ", ".join(missing))
        in_force = []
        for entry in item.get("in_force") or []:
            if isinstance(entry, dict):
                in_force.append(
                    InForce(
                        date=_date(entry.get("date"), "in_force date"),
                        qualification=_str(entry.get("qualification")),
                        applied=_bool(entry.get("applied", False), "in_force applied"),
                        prospective=_bool(entry.get("prospective", False), "prospective"),
                    )
                )
        return cls(
            id=str(_str(item["id"])),
            type=str(_str(item["type"])),
            affected=_instrument_id(str(item["affected"])),
            affecting=_instrument_id(str(item["affecting"])),
            affected_provisions=_str(item.get("affected_provisions")) or "",
            affected_pins=_pins(item.get("affected_pins")),
            affecting_title=_str(item.get("affecting_title")) or "",
            affecting_provisions=_str(item.get("affecting_provisions")) or "",
            affecting_pins=_pins(item.get("affecting_pins")),
            in_force=in_force,
            applied=_bool(item.get("applied", False), "applied"),
            requires_applied=_bool(item.get("requires_applied", True), "requires_applied"),
            modified=_timestamp(item.get("modified")),
            notes=_str(item.get("notes")),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pins(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [pin for pin in (str(v).strip().strip("/") for v in value if v) if pin]


def effects(value: Any) -> list[Effect]:
    """A document's `effects` front matter, checked; malformed entries are dropped."""
    if not isinstance(value, list):
        return []
    found = []
    for item in value:
        try:
            found.append(Effect.from_front_matter(item))
        except DocumentError:
            continue
    return found


class DocumentError(ValueError):
    """Front matter that cannot be turned into a Document."""


def _date(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise DocumentError(f"{name} must be a date (YYYY-MM-DD), got {text!r}") from exc


def check_id(value: Any) -> str:
    """The document id, or DocumentError saying why it cannot be one."""
    doc_id = str(value).strip().strip("/")
    segments = doc_id.split("/")
    if (
        not doc_id
        or len(doc_id) > MAX_ID_CHARS
        or not all(ID_SEGMENT.fullmatch(segment) for segment in segments)
    ):
        raise DocumentError(
            f"id {value!r} must be a path of at most {MAX_ID_CHARS} characters whose parts are "
            "letters, digits, '.', '_' and '-', each starting with a letter or digit"
        )
    return doc_id


def url_or_none(value: Any, name: str = "source_url") -> str | None:
    """An http(s) URL (what pages render as a link), None when empty; else DocumentError."""
    text = _str(value)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in URL_SCHEMES or not parts.netloc or text != text.strip():
        raise DocumentError(f"{name} must be an http(s) URL, got {text[:80]!r}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise DocumentError(f"{name} must not contain control characters")
    return text


def _bool(value: Any, name: str) -> bool:
    """YAML's true/false, or the strings 'true'/'false' (yes/no, on/off, 1/0); nothing else."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DocumentError(f"{name} must be true or false, got {value!r}")


def _timestamp(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


@dataclass
class Document:
    """One source document: an Act, an SI, a piece of guidance, a council policy."""

    id: str
    title: str
    doc_type: str
    status: str
    short_title: str | None = None
    identifier: str | None = None
    aliases: list[str] = field(default_factory=list)
    publisher: str | None = None
    source_url: str | None = None
    retrieved_at: str | None = None
    sha256: str | None = None
    licence: str | None = None
    attribution: str | None = None
    status_date: str | None = None
    status_note: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    published: str | None = None
    extent: str | None = None
    # Citation fields a parser fills for legislation (see kb.core.pins.oscola):
    language: str | None = None  # 'en' or 'cy' (dc:language); Welsh titles cite 'dccc 3'
    subsidiary_number: str | None = None  # 'W 171', 'Cy 171', 'NI 1': ukm:AlternativeNumber
    sample: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_legislation(self) -> bool:
        return self.doc_type in LEGISLATION_TYPES

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_STATUSES

    @property
    def year(self) -> str | None:
        for value in (self.published, self.valid_from):
            if value:
                return value[:4]
        if self.identifier:
            parts = self.identifier.split("/")
            if len(parts) >= 2 and parts[1].isdigit():
                return parts[1]
        return None

    @property
    def legislation_path(self) -> legislation.LegislationPath | None:
        """The legislation.gov.uk path of an Act or SI (from identifier, else id), or None."""
        if not self.is_legislation:
            return None
        return legislation.first_path(self.identifier, self.id)

    @property
    def citation_title(self) -> str:
        """The title as cited: legislation without a leading 'The' (OSCOLA), guidance as is."""
        if not self.is_legislation:
            return self.title
        path = self.legislation_path
        return legislation.citation_title(self.title, path.type if path else "")

    @property
    def cite_name(self) -> str:
        return self.short_title or self.citation_title

    @classmethod
    def from_front_matter(cls, meta: dict[str, Any]) -> Document:
        if not isinstance(meta, dict):
            raise DocumentError("front matter must be a YAML mapping")
        missing = [name for name in REQUIRED_FIELDS if not meta.get(name)]
        if missing:
            raise DocumentError("front matter is missing " + ", ".join(missing))
        doc_id = check_id(meta["id"])
        doc_type = _one_of(meta["doc_type"], DOC_TYPES, "doc_type")
        status = _one_of(meta["status"], STATUSES, "status")
        aliases = _aliases(meta.get("aliases"))
        known = {f.name for f in cls.__dataclass_fields__.values()} - {"extra"}
        extra = {k: v for k, v in meta.items() if k not in known}
        # a point in time (indexer/sources/legislation/versions.py), YAML date or text
        if "version_date" in extra:
            extra["version_date"] = _date(extra["version_date"], "version_date")
        return cls(
            id=doc_id,
            title=str(meta["title"]).strip(),
            doc_type=doc_type,
            status=status,
            short_title=_str(meta.get("short_title")),
            identifier=_str(meta.get("identifier")),
            aliases=aliases,
            publisher=_str(meta.get("publisher")),
            source_url=url_or_none(meta.get("source_url")),
            retrieved_at=_timestamp(meta.get("retrieved_at")),
            sha256=_str(meta.get("sha256")),
            licence=_str(meta.get("licence")),
            attribution=_str(meta.get("attribution")),
            status_date=_date(meta.get("status_date"), "status_date"),
            status_note=_str(meta.get("status_note")),
            valid_from=_date(meta.get("valid_from"), "valid_from"),
            valid_to=_date(meta.get("valid_to"), "valid_to"),
            published=_date(meta.get("published"), "published"),
            extent=_str(meta.get("extent")),
            language=_str(meta.get("language")),
            subsidiary_number=_str(meta.get("subsidiary_number")),
            sample=_bool(meta.get("sample", False), "sample"),
            extra=extra,
        )

    def front_matter(self) -> dict[str, Any]:
        """The mapping written back as YAML front matter (empty fields left out)."""
        data = asdict(self)
        extra = data.pop("extra")
        data = {k: v for k, v in data.items() if v not in (None, [], False)}
        data.update(extra)
        return data

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _one_of(value: Any, allowed: tuple[str, ...], name: str) -> str:
    text = str(value)
    if text not in allowed:
        raise DocumentError(f"{name} {text!r} is not one of {', '.join(allowed)}")
    return text


def _aliases(value: Any) -> list[str]:
    aliases = value or []
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list):
        raise DocumentError("aliases must be a list of strings")
    return [str(a) for a in aliases]


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass
class Node:
    """An anchored element of a document: a division (Part, Chapter) or a provision."""

    pin: str  # path below the document id: "section/3/2", "para/2.3", "heading/scope"
    anchor: str  # HTML id in the reader: "section-3-2"
    label: str  # "s 3(2)", "para 2.3", "Part I"
    title: str  # heading text without its number, or "" for a numbered paragraph
    depth: int  # nesting depth for the table of contents
    markdown: str = ""  # the node's own text, as Markdown
    text: str = ""  # the same, as plain text
    status: str | None = None  # a provision-level status overriding the document's
    status_note: str | None = None
    parent: str | None = None  # pin of the enclosing node
    heading_path: list[str] = field(default_factory=list)
    is_heading: bool = False
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Passage:
    """The citable, searchable unit: one provision or paragraph with its own text."""

    id: str
    document_id: str
    pin: str
    anchor: str
    label: str
    title: str  # document title
    heading: str  # heading path joined with " › "
    citation: str
    short_citation: str
    source_url: str | None
    status: str
    status_date: str | None
    doc_type: str
    text: str  # plain text, Markdown stripped
    order: int
    valid_from: str | None = None
    valid_to: str | None = None
    sample: bool = False
    aliases: list[str] = field(default_factory=list)  # the document's other names
    duty: str = "none"  # "duty", "power" or "none" (indexer/duties.py)
    holders: list[str] = field(default_factory=list)  # who the duty or power falls on
    cites: list[str] = field(default_factory=list)  # ids of provisions this passage cites
    operative: bool = True  # False: prelims, signature, explanatory note (not the law itself)
    notes: str = ""  # annotations and footnotes shown with the passage, never searched as text
    extent: list[str] = field(default_factory=list)  # nations it extends to: E, W, S, NI
    # Guidance only: provisions it cites that have changed since it was issued (kb/core/effects.py)
    stale_citations: list[dict[str, Any]] = field(default_factory=list)
    # False for a passage of a historical version (a document with `version_of`): indexed, but
    # searched only with `as_at` (indexer/sources/legislation/versions.py)
    current_version: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
