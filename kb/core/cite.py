"""Citation resolver: turn the ways people cite legislation into canonical passage ids.

    >>> resolve("s 3(2) LGA 1999", DEFAULT_REGISTRY).id
    'ukpga/1999/27/section/3/2'

Pins follow legislation.gov.uk URI paths (see kb.core.pins). Roman-numbered Parts and
Chapters ("Part I", "pt ii") are converted to Arabic ("part/1", "part/2") so that every
spelling of one Part gives one id; numerals beyond XXXIX and letters ("Part L") are kept
as written, upper-cased.

Instruments are matched by name through a `Registry`: titles (with or without "the" and
parentheticals), short titles, aliases, acronyms of Act titles ("LGA 1999"), chapter
numbers ("1999 c. 27", "6 & 7 Geo. 6 c. 48"), running numbers ("2023 asp 5") and series
numbers ("SI 2006/246", "S.I. 2006 No. 246", "SSI 2025/281", "SR 2022/7"), all
case-insensitively and tolerant of dots and spacing ("L.G.A. 1999"). legislation.gov.uk URLs
and id URIs of every type in kb.core.legislation.TYPES are read, with calendar or regnal years
("https://www.legislation.gov.uk/ukpga/Geo6/6-7/48/section/125").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kb.core import cite_tokens as tok
from kb.core import legislation
from kb.core.cite_names import NameIndex
from kb.core.models import Document
from kb.core.paths import passage_path
from kb.core.pins import label, oscola, short_citation
from kb.core.vocabularies import LEGISLATION_CODES, LEGISLATION_TYPES

LEGISLATION_URL = "https://www.legislation.gov.uk"

_STOP_WORDS = {"and", "of", "in", "the", "for", "to", "on", "with", "a"}
_YEAR_END = re.compile(r"\s*,?\s*(\d{4})$")
_PARENS = re.compile(r"\s*\([^)]*\)")
# A title without its year is only a safe alias when it is long enough to be distinctive:
# "Local Government and Public Involvement in Health Act", not "Local Government Act".
_MIN_YEARLESS_WORDS = 5


# What an Instrument and a Document share, field for field (aliases aside: a tuple here).
_DOCUMENT_FIELDS = (
    "id",
    "title",
    "short_title",
    "doc_type",
    "identifier",
    "source_url",
    "language",
    "subsidiary_number",
    "publisher",
    "published",
    "valid_from",
)


@dataclass(frozen=True)
class Instrument:
    id: str  # document id in the index: "ukpga/1999/27"
    title: str
    short_title: str | None = None
    doc_type: str = "act"
    aliases: tuple[str, ...] = ()
    identifier: str | None = None  # legislation.gov.uk path, ISBN, circular number
    source_url: str | None = None
    language: str | None = None  # as Document: 'cy' cites a Welsh Act '(dccc 3)'
    subsidiary_number: str | None = None  # as Document: 'W 171' -> 'SI 2024/1002 (W 171)'
    # Guidance is cited 'Publisher, Title (year)': the same fields the index cites it with
    publisher: str | None = None
    published: str | None = None
    valid_from: str | None = None

    @property
    def is_legislation(self) -> bool:
        return self.doc_type in LEGISLATION_TYPES

    @property
    def path(self) -> legislation.LegislationPath | None:
        """The legislation.gov.uk path (calendar or regnal) of an Act or SI, or None."""
        if not self.is_legislation:
            return None
        return legislation.first_path(self.identifier, self.id)

    @property
    def year(self) -> str | None:
        """The calendar year: from a calendar path, else from the title ('… Act 1943')."""
        path = self.path
        if path and not path.regnal:
            return path.year
        found = _YEAR_END.search(self.title)
        return found.group(1) if found else None

    def to_document(self) -> Document:
        fields = {name: getattr(self, name) for name in _DOCUMENT_FIELDS}
        return Document(status="in_force", aliases=list(self.aliases), **fields)

    @classmethod
    def from_document(cls, doc: Document) -> Instrument:
        fields = {name: getattr(doc, name) for name in _DOCUMENT_FIELDS}
        return cls(aliases=tuple(doc.aliases), **fields)

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> Instrument:
        """A sources-manifest entry: id, title, short_title, aliases, identifier[, doc_type]."""
        identifier = entry.get("identifier") or None
        aliases = entry.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [aliases]
        return cls(
            id=str(entry["id"]).strip("/"),
            title=str(entry["title"]).strip(),
            short_title=entry.get("short_title") or None,
            doc_type=entry.get("doc_type") or _guess_type(identifier or str(entry["id"])),
            aliases=tuple(str(a) for a in aliases),
            identifier=identifier,
            source_url=entry.get("source_url") or None,
            language=entry.get("language") or None,
            subsidiary_number=entry.get("subsidiary_number") or None,
            publisher=entry.get("publisher") or None,
            published=str(entry["published"])[:10] if entry.get("published") else None,
        )


def _guess_type(identifier: str) -> str:
    """'act' for primary legislation, 'si' for secondary and EU-origin, else 'guidance'."""
    path = legislation.parse_path(identifier)
    found = LEGISLATION_CODES.get(path.type) if path else None
    return found.doc_type if found else "guidance"


@dataclass(frozen=True)
class CitationRef:
    """A citation found in text: an instrument, a pin (None for the whole instrument), a span."""

    instrument: str  # instrument id
    pin: str | None
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.instrument}/{self.pin}" if self.pin else self.instrument


@dataclass(frozen=True)
class Resolution:
    ref: str
    instrument: Instrument
    pin: str | None
    start: int = 0
    end: int = 0

    @property
    def id(self) -> str:
        return f"{self.instrument.id}/{self.pin}" if self.pin else self.instrument.id

    @property
    def citation(self) -> str:
        return oscola(self.instrument.to_document(), self.pin)

    @property
    def short_citation(self) -> str:
        return short_citation(self.instrument.to_document(), self.pin)

    def url(self, base_url: str = LEGISLATION_URL) -> str | None:
        inst = self.instrument
        if inst.is_legislation:
            path = inst.identifier if inst.identifier and "/" in inst.identifier else inst.id
            return "/".join(bit for bit in (base_url.rstrip("/"), path, self.pin) if bit)
        if inst.source_url:
            anchor = "#" + self.pin.replace("/", "-") if self.pin else ""
            return inst.source_url + anchor
        return None

    def to_dict(
        self,
        in_index: bool,
        base_url: str = LEGISLATION_URL,
        indexed: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`indexed`: the passage as the index holds it, whose citation (formatted at build,
        with everything the document says) is the one search shows, so it is used here too.
        `url` is the source's address, else this knowledge base's page when it is held here."""
        url = self.url(base_url)
        if url is None and in_index:
            url = passage_path(self.id)
        return {
            "ref": self.ref,
            "id": self.id,
            "citation": (indexed or {}).get("citation") or self.citation,
            "short_citation": (indexed or {}).get("short_citation") or self.short_citation,
            "url": url,
            "in_index": bool(in_index),
        }


# --- names -------------------------------------------------------------------------------


def _key_words(name: str) -> list[tuple[str, bool]]:
    """Normalised words of a name, each flagged when it is an acronym ("LGA", "S.I.")."""
    text = name.replace("&", " and ").replace("’", "").replace("'", "")
    text = re.sub(r"\s*/\s*", "/", text)
    raw = re.findall(r"[A-Za-z0-9/]+", text)
    words: list[tuple[str, bool]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) > 1:
            words.append(("".join(run).lower(), True))
        elif run:
            words.append((run[0].lower(), run[0].isupper() and run[0].isalpha()))
        run.clear()

    for word in raw:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        flush()
        acronym = word.isalpha() and word.isupper() and len(word) > 1
        words.append((word.lower(), acronym))
    flush()
    if words and words[0][0] == "the":
        words = words[1:]
    return words


def name_key(name: str) -> str:
    """'the L.G.A., 1999' -> 'lga 1999'; the lookup key for instrument names."""
    return " ".join(word for word, _ in _key_words(name))


def _word_pattern(word: str, acronym: bool) -> str:
    if "/" in word:
        return r"\s*/\s*".join(re.escape(bit) for bit in word.split("/"))
    if word == "and":
        return "(?:and|&)"
    if acronym:
        return r"\.?[ ]?".join(re.escape(ch) for ch in word) + r"\.?"
    return re.escape(word)


def _name_pattern(name: str) -> str:
    words = _key_words(name)
    out = ""
    for i, (word, acronym) in enumerate(words):
        if i:
            prev = words[i - 1][0][-1]
            same = prev.isdigit() == word[0].isdigit()
            out += r"[\s.,()\-–]+" if same else r"[\s.,()\-–]*"
        out += _word_pattern(word, acronym)
    return out


def _acronym(title: str) -> str | None:
    """'Local Government and Public Involvement in Health Act 2007' -> 'LGPIHA 2007'."""
    found = _YEAR_END.search(title)
    if not found or not re.search(r"\bAct\b", title):
        return None
    words = re.findall(r"[A-Za-z]+", _PARENS.sub("", title[: found.start()]))
    initials = "".join(w[0].upper() for w in words if w.lower() not in _STOP_WORDS)
    return f"{initials} {found.group(1)}" if len(initials) > 1 else None


def _names(inst: Instrument) -> tuple[list[str], list[str]]:
    """(explicit names, derived names) an instrument is cited by."""
    explicit = [inst.title] + ([inst.short_title] if inst.short_title else []) + list(inst.aliases)
    derived: list[str] = []
    bare = _PARENS.sub("", inst.title)
    if bare != inst.title:
        derived.append(bare)
    for title in (inst.title, bare):
        found = _YEAR_END.search(title)
        if found:
            yearless = title[: found.start()]
            if len(yearless.split()) >= _MIN_YEARLESS_WORDS:
                derived.append(yearless)
    path = inst.path
    if path:
        derived += _number_names(path)
    elif inst.identifier:
        derived.append(inst.identifier)
    acronym = _acronym(inst.title) if inst.doc_type == "act" else None
    if acronym:
        derived.append(acronym)
    year = inst.year
    if year:
        for alias in inst.aliases:
            if not re.search(r"\d", alias):
                derived.append(f"{alias} {year}")
    return explicit, derived


def _number_names(path: legislation.LegislationPath) -> list[str]:
    """Names from the number: '1999 c 27', '6 & 7 Geo 6 c 48', '2023 asp 5', 'SSI 2025/281'."""
    names: list[str] = []
    chapter = legislation.chapter_citation(path)
    if chapter:
        when = chapter.rsplit(" c ", 1)[0]
        names += [chapter, f"{when} chapter {path.number}"]
    for words in legislation.RUNNING_NUMBERS.get(path.type, ()):
        names.append(f"{path.year} {words} {path.number}")
    prefix = legislation.SERIES.get(path.type)
    if prefix and not path.regnal:
        for each in (prefix, *legislation.SERIES_ALIASES.get(path.type, ())):
            names += [f"{each} {path.year}/{path.number}", f"{each} {path.year} No {path.number}"]
        names.append(f"{path.year} No {path.number}")
    return list(dict.fromkeys(names))


def _name_keys(instruments: Iterable[Instrument]) -> tuple[dict[str, str], dict[str, str]]:
    """Name key -> instrument id, and key -> a spelling of it. An explicit name (title, short
    title, alias) goes to the first instrument giving it; a derived one (acronym, number) only
    to an instrument no other derives it for, and never over an explicit one."""
    keys: dict[str, str] = {}
    names: dict[str, str] = {}
    derived_keys: dict[str, set[str]] = {}
    for inst in instruments:
        explicit, derived = _names(inst)
        for key, name in _keyed(explicit):
            if key not in keys:
                keys[key], names[key] = inst.id, name
        for key, name in _keyed(derived):
            derived_keys.setdefault(key, set()).add(inst.id)
            names.setdefault(key, name)
    for key, ids in derived_keys.items():
        if key not in keys and len(ids) == 1:  # an ambiguous derived name is dropped
            keys[key] = next(iter(ids))
    return keys, names


def _keyed(names: list[str]) -> list[tuple[str, str]]:
    return [(key, name) for name in names if (key := name_key(name))]


# --- registry ----------------------------------------------------------------------------


@dataclass
class Registry:
    """The instruments citations can name, and the names they can be named by."""

    instruments: dict[str, Instrument] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict, repr=False)
    _names: dict[str, str] = field(default_factory=dict, repr=False)  # key -> a spelling
    _by_identifier: dict[str, str] = field(default_factory=dict, repr=False)
    # Keys, longest first, found in text by what they squash to (kb.core.cite_names)
    _name_index: NameIndex | None = field(default=None, repr=False, compare=False)
    _by_year: dict[str | None, list[Instrument]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._index()

    @classmethod
    def from_instruments(cls, instruments: Iterable[Instrument]) -> Registry:
        merged: dict[str, Instrument] = {}
        for inst in instruments:
            old = merged.get(inst.id)
            if old:
                aliases = tuple(dict.fromkeys(inst.aliases + old.aliases))
                inst = Instrument(
                    id=inst.id,
                    title=inst.title,
                    short_title=inst.short_title or old.short_title,
                    doc_type=inst.doc_type,
                    aliases=aliases,
                    identifier=inst.identifier or old.identifier,
                    source_url=inst.source_url or old.source_url,
                    language=inst.language or old.language,
                    subsidiary_number=inst.subsidiary_number or old.subsidiary_number,
                )
            merged[inst.id] = inst
        return cls(merged)

    @classmethod
    def from_documents(
        cls,
        docs: Iterable[Document],
        extra: Iterable[dict[str, Any] | Instrument] = (),
        include_defaults: bool = True,
    ) -> Registry:
        """Indexed documents win over manifest entries, which win over the built-in defaults."""
        found: list[Instrument] = list(DEFAULT_INSTRUMENTS) if include_defaults else []
        found += [e if isinstance(e, Instrument) else Instrument.from_dict(e) for e in extra]
        found += [Instrument.from_document(doc) for doc in docs]
        return cls.from_instruments(found)

    def _index(self) -> None:
        keys, names = _name_keys(self.instruments.values())
        self._keys, self._names = keys, {k: names[k] for k in keys}
        self._by_identifier = {}
        for inst in self.instruments.values():
            for value in (inst.identifier, inst.id):
                if value:
                    self._by_identifier.setdefault(value.lower(), inst.id)
        self._by_year = {}
        for inst in self.instruments.values():
            self._by_year.setdefault(inst.year, []).append(inst)
        ordered = sorted(keys, key=len, reverse=True)
        self._name_index = NameIndex(ordered, self._key_pattern)

    def _key_pattern(self, key: str) -> str:
        return _name_pattern(self._names[key])

    def get(self, instrument_id: str) -> Instrument | None:
        return self.instruments.get(instrument_id)

    def lookup(self, name: str) -> Instrument | None:
        """The instrument a whole string names ("L.G.A. 1999", "the Local Government Act 1999")."""
        inst_id = self._keys.get(name_key(name))
        return self.instruments[inst_id] if inst_id else None

    def by_identifier(self, identifier: str) -> Instrument | None:
        inst_id = self._by_identifier.get(identifier.lower().strip("/"))
        return self.instruments[inst_id] if inst_id else None

    def by_year(self, year: str, kind: str, prefer: Instrument | None = None) -> Instrument | None:
        """'the 2007 Act' -> the one Act of 2007 known (the preferred one if it fits)."""

        def fits(inst: Instrument) -> bool:
            if inst.year != year:
                return False
            if kind == "Act":
                return inst.doc_type == "act"
            return inst.doc_type == "si" and kind.lower() in inst.title.lower()

        if prefer and fits(prefer):
            return prefer
        found = [inst for inst in self._by_year.get(year, ()) if fits(inst)]
        return found[0] if len(found) == 1 else None

    def scan(self, text: str) -> list[tuple[int, int, Instrument]]:
        """Instrument names in text, longest name first at each position."""
        if self._name_index is None:
            return []
        out = []
        for match in self._name_index.finditer(text):
            inst = self.lookup(match.group())
            if inst is None:  # matched through punctuation the key does not keep
                inst = self._fuzzy_key(match.group())
            if inst:
                out.append((match.start(), match.end(), inst))
        return out

    def _fuzzy_key(self, text: str) -> Instrument | None:
        if self._name_index is None:
            return None
        for key in self._name_index.same_squash(text):  # the only keys it could be a spelling of
            if re.fullmatch(_name_pattern(self._names[key]), text, re.IGNORECASE):
                return self.instruments[self._keys[key]]
        return None

    def candidates(self, text: str, limit: int = 5) -> list[dict[str, str]]:
        """Instruments whose names are close to text, for "did you mean"."""
        key = name_key(text)
        if not key:
            return []
        found = difflib.get_close_matches(key, list(self._keys), n=limit * 3, cutoff=0.6)
        seen: dict[str, dict[str, str]] = {}
        for match in found:
            inst = self.instruments[self._keys[match]]
            seen.setdefault(inst.id, {"id": inst.id, "title": inst.title})
        return list(seen.values())[:limit]


DEFAULT_INSTRUMENTS = tuple(
    Instrument(
        id=id_,
        title=title,
        short_title=short_title,
        doc_type=doc_type,
        aliases=aliases,
        identifier=id_,
    )
    for id_, title, short_title, doc_type, aliases in (
        (
            "ukpga/1999/27",
            "Local Government Act 1999",
            "LGA 1999",
            "act",
            ("LGA 1999", "1999 c. 27"),
        ),
        (
            "ukpga/2007/28",
            "Local Government and Public Involvement in Health Act 2007",
            "LGPIHA 2007",
            "act",
            ("LGPIHA 2007", "2007 c. 28"),
        ),
        (
            "uksi/2006/246",
            "Transfer of Undertakings (Protection of Employment) Regulations 2006",
            "TUPE 2006",
            "si",
            ("TUPE", "TUPE 2006", "SI 2006/246"),
        ),
    )
)
DEFAULT_REGISTRY = Registry.from_instruments(DEFAULT_INSTRUMENTS)


# --- resolving ---------------------------------------------------------------------------

_TRAIL_GAP = re.compile(r"\s*[,–—]?\s*\(?\s*(?:(?:of|to|in|into)\s+)?(?:the\s+)?", re.IGNORECASE)
_LEAD_GAP = re.compile(r"\s*[,:(]?\s*")
_CHAIN_GAP = re.compile(r"\s*(?:,\s*and|,\s*or|,|and|or|&)\s*", re.IGNORECASE)
_NAME_GAP = re.compile(r"\s*,?\s*\(?\s*")


@dataclass(frozen=True)
class _Named:
    """An instrument named in text, by name, URL or back-reference ("the 2007 Act")."""

    start: int
    end: int
    instrument: Instrument | None
    explicit: bool  # a name or URL, not "this Act"


def _as_instrument(value: Instrument | str | None, registry: Registry) -> Instrument | None:
    if value is None or isinstance(value, Instrument):
        return value
    return registry.get(value) or registry.by_identifier(value) or registry.lookup(value)


def _pin_for(pin: tok.PinRef, inst: Instrument) -> str:
    return pin.pin("paragraph" if inst.is_legislation else "para")


def _named_in(
    text: str, masked: str, registry: Registry, default: Instrument | None
) -> tuple[list[_Named], str]:
    """Instruments named in text, in order, and the text with them masked out."""
    named = _merge_names([_Named(s, e, inst, True) for s, e, inst in registry.scan(masked)], text)
    masked = tok.mask(masked, [(n.start, n.end) for n in named])
    named += [_Named(s, e, None, True) for s, e in tok.scan_unknown_titles(masked)]
    named.sort(key=lambda n: n.start)
    masked = tok.mask(masked, [(n.start, n.end) for n in named])
    for ctx in tok.scan_context(masked):
        if ctx.year:
            inst = registry.by_year(ctx.year, ctx.kind, prefer=default)
        elif ctx.determiner in ("that", "said", "the said"):  # the instrument last named
            earlier = [n.instrument for n in named if n.explicit and n.end <= ctx.start]
            # (an unknown instrument counts: "s 189 of that Act" then names nothing known)
            inst = earlier[-1] if earlier else None
        else:
            inst = default  # "this Act", "these Regulations", "the Act"
        named.append(_Named(ctx.start, ctx.end, inst, False))
    named.sort(key=lambda n: n.start)
    return named, tok.mask(masked, [(n.start, n.end) for n in named])


def _scan(
    text: str, registry: Registry, default: Instrument | None, strict: bool
) -> list[CitationRef]:
    urls = tok.scan_urls(text)
    masked = tok.mask(text, [(u.start, u.end) for u in urls])
    named, masked = _named_in(text, masked, registry, default)
    refs: list[CitationRef] = []
    used: set[int] = set()
    for chain in _chains(text, tok.scan_pins(masked, strict)):
        # An instrument named next to the pins wins over the default, even when it is one
        # the registry does not know ("s 149 of the Equality Act 2010": left out).
        source = _named_after(text, named, chain[-1].end) or _named_before(
            text, named, chain[0].start
        )
        inst = source.instrument if source else default
        if inst is None:
            continue
        if source:
            used.add(source.start)
        refs += _chain_refs(chain, inst, source)
    for url in urls:
        inst = registry.by_identifier(url.identifier)
        if inst:
            refs.append(CitationRef(inst.id, url.pin, url.start, url.end, ""))
    for n in named:
        if n.explicit and n.instrument and n.start not in used:
            refs.append(CitationRef(n.instrument.id, None, n.start, n.end, ""))
    refs.sort(key=lambda r: (r.start, r.end))
    return [CitationRef(r.instrument, r.pin, r.start, r.end, text[r.start : r.end]) for r in refs]


def _chains(text: str, phrases: list[tok.PinPhrase]) -> list[list[tok.PinPhrase]]:
    """Phrases joined by "and" / "," share the instrument named after the last or before the
    first."""
    chains: list[list[tok.PinPhrase]] = []
    for phrase in phrases:
        if chains and _CHAIN_GAP.fullmatch(text, chains[-1][-1].end, phrase.start):
            chains[-1].append(phrase)
        else:
            chains.append([phrase])
    return chains


def _named_after(text: str, named: list[_Named], end: int) -> _Named | None:
    """The instrument named right after a pin ("s 3 of the 2007 Act")."""
    for n in named:
        if n.start >= end:
            return n if _TRAIL_GAP.fullmatch(text, end, n.start) else None
    return None


def _named_before(text: str, named: list[_Named], start: int) -> _Named | None:
    """The instrument named right before a pin ("LGA 1999, s 3")."""
    for n in reversed(named):
        if n.end <= start:
            return n if _LEAD_GAP.fullmatch(text, n.end, start) else None
    return None


def _chain_refs(
    chain: list[tok.PinPhrase], inst: Instrument, source: _Named | None
) -> list[CitationRef]:
    """A chain's pins in inst; the first or last reaches over the name beside the chain."""
    refs = []
    for p_i, phrase in enumerate(chain):
        for r_i, pin in enumerate(phrase.refs):
            start, end = pin.start, pin.end
            first = p_i == 0 and r_i == 0
            last = p_i == len(chain) - 1 and r_i == len(phrase.refs) - 1
            if source and source.start >= phrase.end and last:
                end = source.end
            if source and source.end <= phrase.start and first:
                start = source.start
            refs.append(CitationRef(inst.id, _pin_for(pin, inst), start, end, ""))
    return refs


def _merge_names(named: list[_Named], text: str) -> list[_Named]:
    """Adjacent names of one instrument are one name: "Transfer of Undertakings (Protection of
    Employment) Regulations (TUPE)", "… Regulations 2006, SI 2006/246"."""
    out: list[_Named] = []
    for n in named:
        prev = out[-1] if out else None
        gap = _NAME_GAP.fullmatch(text, prev.end, n.start) if prev else None
        if prev and gap and prev.instrument == n.instrument:
            end = n.end
            if "(" in gap.group():
                if text[n.end : n.end + 1] != ")":
                    out.append(n)
                    continue
                end += 1
            out[-1] = _Named(prev.start, end, n.instrument, True)
        else:
            out.append(n)
    return out


def find_citations(
    text: str,
    registry: Registry | None = None,
    default_instrument: Instrument | str | None = None,
) -> list[CitationRef]:
    """Citations inside prose, in order. A pin naming no instrument ("regulation 13") is
    given default_instrument (the document being read) or left out."""
    registry = registry or DEFAULT_REGISTRY
    default = _as_instrument(default_instrument, registry)
    return _scan(text, registry, default, strict=True)


def resolve(
    ref: str,
    registry: Registry | None = None,
    default_instrument: Instrument | str | None = None,
) -> Resolution | None:
    """The provision a string that is a citation names, or None."""
    registry = registry or DEFAULT_REGISTRY
    default = _as_instrument(default_instrument, registry)
    text = ref.strip()
    found = _scan(text, registry, default, strict=False)
    if not found:
        return None
    first = found[0]
    return Resolution(ref, registry.get(first.instrument), first.pin, first.start, first.end)


def unresolved(ref: str, registry: Registry | None = None) -> dict[str, Any]:
    """The error body for a string that names no known instrument, with near misses."""
    registry = registry or DEFAULT_REGISTRY
    text = ref.strip()
    urls = tok.scan_urls(text)
    if urls:
        message = f"{urls[0].identifier} is not a known instrument"
        rest = ""
    else:
        rest = tok.mask(text, [(p.start, p.end) for p in tok.scan_pins(text, strict=False)])
        rest = re.sub(r"^\W*(?:(?:of|to|in)\s+)?", "", rest.replace(tok.MASK, " ").strip())
        if not rest:
            message = f"{text!r} cites a provision but names no instrument"
        else:
            message = f"{text!r} names no known instrument"
    return {
        "error": "unresolved",
        "message": message,
        "candidates": registry.candidates(rest) if rest else [],
    }


def cite_path(path: str, registry: Registry, base_url: str = LEGISLATION_URL) -> dict[str, Any]:
    """A legislation path the index does not hold ('ukpga/1999/27/section/3/2'): its OSCOLA
    citation (from the registry, else from its number: '2099 c 1, s 1'; None if neither) and
    its address on legislation.gov.uk. Empty for a path that is not legislation."""
    parsed = legislation.parse_path(path)
    if parsed is None:
        return {}
    found = resolve(parsed.path, registry)
    if found is not None and found.instrument.id == parsed.document:
        citation: str | None = found.citation
    else:
        number = (
            legislation.series_number(parsed)
            or legislation.chapter_citation(parsed)
            or legislation.running_number(parsed)
        )
        where = label(parsed.pin) if parsed.pin else ""
        citation = ", ".join(bit for bit in (number, where) if bit) if number else None
    steps = (parsed.document, parsed.pin, parsed.version, parsed.language)
    url = "/".join([base_url.rstrip("/"), *(step for step in steps if step)])
    return {"citation": citation, "source_url": url}
