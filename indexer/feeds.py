"""legislation.gov.uk's Atom feeds: pages, Publication Log entries and effects.

Shapes (docs/formats/atom.md, docs/api/publication-log.md, docs/api/search.md "Changes to
legislation"; the real feeds in ../shared/reference/legislation-gov-uk/responses):

- every feed page: `<leg:page>`, `<leg:morePages>` (about how many pages are left),
  `<openSearch:totalResults>` on some, and `<link rel="next">` while there is a next page;
- a Publication Log entry: one publication or withdrawal of one resource (`pbl:` elements);
- a changes feed entry: one `<ukm:Effect>` in its `<content>`. The lgu2 API's "simple" form of
  the same feed (`node` elements with `uri`/`text` attributes, `AffectedProvisionsText`) is read
  too, as it is the same data.

Parsed with the project's safe parser settings (no DTD, no entities, no network).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from lxml import etree

from indexer.clml import CLMLError, _parser, _refuse_doctype, legislation_path, local
from kb.core.legislation import parse_path

ATOM = "http://www.w3.org/2005/Atom"
LEG = "http://www.legislation.gov.uk/namespaces/legislation"
UKM = "http://www.legislation.gov.uk/namespaces/metadata"
PBL = "http://www.legislation.gov.uk/namespaces/publication-log"
DC = "http://purl.org/dc/elements/1.1/"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NS = {"a": ATOM, "leg": LEG, "ukm": UKM, "pbl": PBL, "dc": DC, "os": OPENSEARCH, "h": XHTML}


class FeedError(ValueError):
    """Bytes that are not a usable Atom feed."""


@dataclass
class FeedPage:
    entries: list[etree._Element] = field(default_factory=list)
    page: int | None = None  # leg:page
    more_pages: int | None = None  # leg:morePages: an approximation of the pages left
    total: int | None = None  # openSearch:totalResults, when present
    next: str | None = None  # <link rel="next" href>, as the feed gives it


@dataclass
class LogEntry:
    """One Publication Log entry: a resource published to, or withdrawn from, the site."""

    id: str
    item: str  # item path from dc:identifier: 'ukpga/2020/17'
    updated: str  # when the event happened
    published: str | None = None  # first publication at this URI, when known
    content_type: str = ""  # 'legislation' | 'draft' | 'associated-documents' | 'changes'
    event: str = ""  # 'published' | 'withdrawn'
    republished: bool | None = None
    document: str | None = None  # pbl:Document: the expression (version) it manifests
    item_url: str | None = None  # pbl:Item_Published / pbl:Item_Withdrawn
    format: str | None = None  # 'xml' | 'pdf' | 'html5'
    direction: str | None = None  # changes only: 'affected' | 'affecting'
    language: str | None = None
    title: str = ""  # the English title (a dual-language title gives its 'en' span)
    title_cy: str | None = None

    @property
    def updated_at(self) -> dt.datetime | None:
        return timestamp(self.updated)


def timestamp(value: str | None) -> dt.datetime | None:
    """An Atom date-time ('2023-07-07T16:20:33.742931+01:00', '...Z') in UTC; None if not one."""
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def parse_feed_xml(data: bytes) -> etree._Element:
    if not data.strip():
        raise FeedError("empty feed")
    try:
        _refuse_doctype(data)
        root = etree.fromstring(data, _parser())
    except CLMLError as exc:
        raise FeedError(str(exc).replace("CLML", "an Atom feed")) from exc
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"malformed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise FeedError("refused: the feed declares a DOCTYPE")
    if root.tag != f"{{{ATOM}}}feed":
        raise FeedError(f"not an Atom feed: the root element is <{local(root) or root.tag}>")
    return root


def check_feed(data: bytes) -> None:
    """A Fetcher `validate`: refuse a body that is not an Atom feed (an error page)."""
    parse_feed_xml(data)


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def parse_feed(data: bytes) -> FeedPage:
    root = parse_feed_xml(data)
    link = root.find("a:link[@rel='next']", NS)
    return FeedPage(
        entries=root.findall("a:entry", NS),
        page=_int(root.findtext("leg:page", namespaces=NS)),
        more_pages=_int(root.findtext("leg:morePages", namespaces=NS)),
        total=_int(root.findtext("os:totalResults", namespaces=NS)),
        next=(link.get("href") or None) if link is not None else None,
    )


def _text(el: etree._Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _bool(value: str | None) -> bool | None:
    value = (value or "").strip().lower()
    return {"true": True, "false": False}.get(value)


def _title(el: etree._Element | None) -> tuple[str, str | None]:
    """(English, Welsh) from a plain title or a type="xhtml" one with en/cy spans."""
    if el is None:
        return "", None
    spans = {s.get(XML_LANG): _text(s) for s in el.iterfind(".//h:span", NS)}
    if spans.get("en"):
        return spans["en"], spans.get("cy") or None
    return _text(el), None


def parse_log_entry(el: etree._Element) -> LogEntry:
    title, title_cy = _title(el.find("a:title", NS))
    identifier = _field(el, "dc:identifier")
    item_url = el.findtext("pbl:Item_Published", namespaces=NS) or el.findtext(
        "pbl:Item_Withdrawn", namespaces=NS
    )
    return LogEntry(
        id=_field(el, "a:id"),
        item=legislation_path(identifier) if identifier else "",
        updated=_field(el, "a:updated"),
        published=_field(el, "a:published") or None,
        content_type=_field(el, "pbl:ContentType"),
        event=_field(el, "pbl:Event"),
        republished=_bool(el.findtext("pbl:Republished", namespaces=NS)),
        document=_field(el, "pbl:Document") or None,
        item_url=(item_url or "").strip() or None,
        format=_field(el, "pbl:Format") or None,
        direction=_field(el, "pbl:Direction") or None,
        language=_field(el, "dc:language") or None,
        title=title,
        title_cy=title_cy,
    )


def _field(el: etree._Element, path: str) -> str:
    """A child element's text, stripped; "" when it is absent or empty."""
    return (el.findtext(path, namespaces=NS) or "").strip()


# --- effects ----------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _pin_of(uri: str | None, item: str) -> str | None:
    """'http://www.legislation.gov.uk/id/ukpga/1984/55/section/1/1A' -> 'section/1/1A' when it
    is a provision of item."""
    parsed = parse_path(uri or "")
    if parsed is None or parsed.document != item or not parsed.pin:
        return None
    return parsed.pin


_URI_ATTRIBUTES = {"Section": ("URI",), "SectionRange": ("URI", "UpTo")}
_NODE_URI_ATTRIBUTES = {"section": ("uri",), "range": ("uri", "upTo")}


def _provision_uris(container: etree._Element | None) -> list[str]:
    """The provision URIs under ukm:AffectedProvisions / ukm:AffectingProvisions, in order:
    each ukm:Section's, and a ukm:SectionRange's two ends (URI, UpTo). The "simple" form has
    `node` elements (type section / range, attributes uri / upTo) instead."""
    if container is None:
        return []
    uris = [el.get(name) or "" for el in container.iter() for name in _uri_attributes(el)]
    return [u for u in uris if u]


def _uri_attributes(el: etree._Element) -> tuple[str, ...]:
    name = local(el)
    if name == "node":
        return _NODE_URI_ATTRIBUTES.get(el.get("type") or "", ())
    return _URI_ATTRIBUTES.get(name, ())


def _most_specific(pins: list[str]) -> list[str]:
    """Unique pins, leaving out one that encloses another ('schedule/5' before
    'schedule/5/paragraph/38' is how legislation.gov.uk writes "Sch. 5 para. 38")."""
    unique = list(dict.fromkeys(pins))
    return [p for p in unique if not any(o.startswith(p + "/") for o in unique)]


def _pins(container: etree._Element | None, item: str) -> list[str]:
    pins = [_pin_of(uri, item) for uri in _provision_uris(container)]
    return _most_specific([p for p in pins if p])


def _item(uri: str | None) -> str:
    parsed = parse_path(uri or "")
    return parsed.document if parsed else legislation_path(uri or "")


def _in_force(effect: etree._Element) -> list[dict]:
    found = []
    for el in effect.iterfind("ukm:InForceDates/ukm:InForce", NS):
        date = (el.get("Date") or "").strip()
        found.append(
            {
                "date": date if re.match(r"^\d{4}-\d{2}-\d{2}$", date) else None,
                "qualification": _clean(el.get("Qualification")) or None,
                "applied": _bool(el.get("Applied")) is True,
                "prospective": _bool(el.get("Prospective")) is True,
            }
        )
    return found


def _english(effect: etree._Element, name: str) -> str:
    titles = effect.findall(f"ukm:{name}", NS)
    chosen = next((t for t in titles if t.get(XML_LANG) in (None, "en")), None)
    return _text(chosen if chosen is not None else (titles[0] if titles else None))


def parse_effect(effect: etree._Element) -> dict:
    """One ukm:Effect -> the corpus front matter's effect mapping (the shared contract)."""
    affected = _item(effect.get("AffectedURI"))
    affecting = _item(effect.get("AffectingURI"))
    out = {
        "id": _clean(effect.get("EffectId")),
        "type": _clean(effect.get("Type")),
        "affected": affected,
        "affected_provisions": _clean(
            effect.get("AffectedProvisions") or effect.get("AffectedProvisionsText")
        ),
        "affected_pins": _pins(effect.find("ukm:AffectedProvisions", NS), affected),
        "affecting": affecting,
        "affecting_title": _english(effect, "AffectingTitle"),
        "affecting_provisions": _clean(
            effect.get("AffectingProvisions") or effect.get("AffectingProvisionsText")
        ),
        "affecting_pins": _pins(effect.find("ukm:AffectingProvisions", NS), affecting),
        "in_force": _in_force(effect),
        "applied": _bool(effect.get("Applied")) is True,
        "requires_applied": _bool(effect.get("RequiresApplied")) is not False,
        "modified": _clean(effect.get("Modified")) or None,
    }
    notes = _text(effect.find("ukm:Notes", NS)) or _clean(effect.get("Notes"))
    if notes:
        out["notes"] = notes
    return out


def page_effects(page: FeedPage) -> list[dict]:
    """The effects of one changes feed page (an entry without a usable effect is skipped)."""
    found = []
    for entry in page.entries:
        el = entry.find("a:content/ukm:Effect", NS)
        if el is None:
            continue
        effect = parse_effect(el)
        if effect["id"] and effect["type"] and effect["affected"] and effect["affecting"]:
            found.append(effect)
    return found


def page_log_entries(page: FeedPage) -> list[LogEntry]:
    return [parse_log_entry(entry) for entry in page.entries]
