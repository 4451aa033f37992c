"""A legislation.gov.uk stand-in on 127.0.0.1: CLML, changes feeds and the Publication Log.

It speaks the shapes of the real site, copied from the real responses in
../shared/reference/legislation-gov-uk/responses (effects.feed: the changes feed envelope, its
paging elements and `ukm:Effect` entries) and from docs/api/publication-log.md (Publication Log
entries; the docs show entries only, so a log page's envelope is the changes feed's, with the
`pbl:` and `dc:` namespaces the entries use). As on the real site, ids and links in feeds name
`http://www.legislation.gov.uk`, whatever host serves them.

Only invented instruments go in. Every request's path (with its query) is kept in `requests`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape, quoteattr

SITE = "http://www.legislation.gov.uk"
PER_PAGE = 20  # the real feeds' page size (docs/api/publication-log.md: fixed at 20)
CLASSES = {"ukpga": "UnitedKingdomPublicGeneralAct", "uksi": "UnitedKingdomStatutoryInstrument"}
CATEGORIES = {"ukpga": "primary", "uksi": "secondary"}


def utc(when: dt.datetime | None = None) -> str:
    when = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- effects ----------------------------------------------------------------------------------


@dataclass
class Effect:
    """An invented effect; pins are written as legislation.gov.uk's Section URIs."""

    id: str
    type: str
    affected: str  # 'ukpga/2031/7'
    affected_title: str
    affected_provisions: str  # 's. 3A'
    affected_pins: list[str]  # ['section/3A']; a range is 'section/56/1..section/56/4'
    affecting: str
    affecting_title: str
    affecting_provisions: str
    affecting_pins: list[str]
    in_force: list[dict] = field(default_factory=list)  # {date, qualification, applied, ...}
    applied: bool = False
    requires_applied: bool = True
    modified: str = "2031-06-01T09:00:00Z"
    missing: bool = False  # the affected provision is not in the text yet (an insertion)


def _ref(pin: str) -> str:
    return pin.replace("/", "-")


def _sections(item: str, pins: list[str], text: str, missing: bool = False) -> str:
    out = []
    for pin in pins:
        if ".." in pin:
            start, end = pin.split("..")
            out.append(
                f'<ukm:SectionRange Start="{_ref(start)}" URI="{SITE}/id/{item}/{start}" '
                f'End="{_ref(end)}" UpTo="{SITE}/id/{item}/{end}">'
                f'<ukm:Section Ref="{_ref(start)}" URI="{SITE}/id/{item}/{start}">{escape(text)}'
                f'</ukm:Section>-<ukm:Section Ref="{_ref(end)}" URI="{SITE}/id/{item}/{end}">'
                f"{escape(end.rsplit('/', 1)[-1])}</ukm:Section></ukm:SectionRange>"
            )
            continue
        flag = (
            ' xmlns:err="http://www.legislation.gov.uk/namespaces/error" '
            'err:Ref="Section missing in legislation" Missing="true"'
            if missing
            else ""
        )
        out.append(
            f'<ukm:Section Ref="{_ref(pin)}" URI="{SITE}/id/{item}/{pin}"{flag}>'
            f"{escape(text)}</ukm:Section>"
        )
    return "".join(out)


def _in_force(dates: list[dict]) -> str:
    out = []
    for d in dates:
        attrs = f'Applied="{str(d.get("applied", False)).lower()}"'
        if d.get("prospective"):
            attrs += ' Prospective="true"'
        if d.get("date"):
            attrs += f' Date="{d["date"]}"'
        attrs += f" Qualification={quoteattr(d.get('qualification') or '')}"
        out.append(f"<ukm:InForce {attrs}/>")
    return f"<ukm:InForceDates>{''.join(out)}</ukm:InForceDates>"


def effect_entry(e: Effect, row: int = 1) -> str:
    """One changes feed <entry>, attribute for attribute as in effects.feed."""
    affected_type, affected_year, affected_number = e.affected.split("/")
    affecting_type, affecting_year, affecting_number = e.affecting.split("/")
    effect = (
        f'<ukm:Effect EffectId="{e.id}" AffectedURI="{SITE}/id/{e.affected}" '
        f'RequiresApplied="{str(e.requires_applied).lower()}" '
        f'Applied="{str(e.applied).lower()}" AffectingNumber="{affecting_number}" '
        f'AffectingEffectsExtent="E+W" AffectingURI="{SITE}/id/{e.affecting}" '
        f'AffectedExtent="E+W" Type={quoteattr(e.type)} '
        f"AffectingProvisions={quoteattr(e.affecting_provisions)} "
        f'AffectedNumber="{affected_number}" Modified="{e.modified}" '
        f'AffectedYear="{affected_year}" Row="{row}" URI="{SITE}/id/effect/{e.id}" '
        f'AffectingYear="{affecting_year}" AffectedProvisions={quoteattr(e.affected_provisions)} '
        f'AffectedClass="{CLASSES[affected_type]}" AffectingClass="{CLASSES[affecting_type]}">'
        f"<ukm:AffectedTitle>{escape(e.affected_title)}</ukm:AffectedTitle>"
        f"<ukm:AffectedProvisions>"
        f"{_sections(e.affected, e.affected_pins, e.affected_provisions, e.missing)}"
        f"</ukm:AffectedProvisions>"
        f"<ukm:AffectingTitle>{escape(e.affecting_title)}</ukm:AffectingTitle>"
        f"<ukm:AffectingProvisions>"
        f"{_sections(e.affecting, e.affecting_pins, e.affecting_provisions)}"
        f"</ukm:AffectingProvisions>"
        f"{_in_force(e.in_force)}</ukm:Effect>"
    )
    return (
        "<entry>\n"
        f"\t\t\t\t\t\t\t<id>{SITE}/changes/affected/{e.affected}/affecting/{e.affecting}/"
        f"{e.id}/modified/{e.modified}</id>\n"
        f'\t\t\t\t\t\t\t<content type="text/xml">\n\t\t\t\t\t\t\t\t{effect}\n'
        "\t\t\t\t\t\t\t</content>\n"
        f"\t\t\t\t\t\t\t<title>{escape(e.affecting_title)} effect on "
        f"{escape(e.affected_title)}</title>\n"
        f"\t\t\t\t\t\t\t<updated>{e.modified}</updated>\n"
        "\t\t\t\t\t\t\t<author><name>editorial.legislation.gov.uk</name></author>\n"
        "\t\t\t\t\t\t</entry>"
    )


def _envelope(feed_url: str, title: str, entries: list[str], page: int, per_page: int, ns=""):
    """A feed page as effects.feed writes it: id, self, alternate CSV, paging, first/next."""
    pages = max(1, -(-len(entries) // per_page))
    shown = entries[(page - 1) * per_page : page * per_page]
    joiner = "&amp;" if "?" in feed_url else "?"
    feed_url = escape(feed_url)
    csv = feed_url.replace("data.feed", "data.csv")
    nxt = (
        f'<link rel="next" type="application/atom+xml" href="{feed_url}{joiner}page={page + 1}"/>'
        if page < pages
        else ""
    )
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:leg="http://www.legislation.gov.uk/namespaces/legislation" '
        'xmlns:ukm="http://www.legislation.gov.uk/namespaces/metadata" '
        'xmlns:openSearch="http://a9.com/-/spec/opensearch/1.1/" '
        f'xmlns:parameters="http://a9.com/-/spec/opensearch/extensions/parameters/1.0/"{ns}>\n'
        "\t\t\t\n"
        f"\t\t\t<id>{feed_url}</id>\n"
        f'\t\t\t<link rel="self" type="application/atom+xml" href="{feed_url}"/>\n'
        f'\t\t\t<link rel="alternate" type="text/csv" href="{csv}"/>\n'
        f"\t\t\t<updated>{utc()}</updated>\n"
        f"\t\t\t<title>{title}</title>\n"
        f"\t\t\t<openSearch:itemsPerPage>{per_page}</openSearch:itemsPerPage>\n"
        f"\t\t\t<openSearch:startIndex>{(page - 1) * per_page + 1}</openSearch:startIndex>\n"
        '\t\t\t<openSearch:Query role="request"> </openSearch:Query>\n'
        f"\t\t<leg:page>{page}</leg:page><leg:morePages>{pages - page}</leg:morePages>"
        f"<leg:totalPages>{pages}</leg:totalPages>"
        f"<openSearch:totalResults>{len(entries)}</openSearch:totalResults>"
        f'<link rel="first" type="application/atom+xml" href="{feed_url}"/>{nxt}'
        + "".join(shown)
        + "\n\t\t</feed>"
    ).encode()


def changes_feed(item: str, effects: list[Effect], page: int = 1, per_page: int = PER_PAGE):
    entries = [effect_entry(e, row=n + 1) for n, e in enumerate(effects)]
    url = f"{SITE}/changes/affected/{item}/data.feed"
    return _envelope(url, "Changes to Legislation", entries, page, per_page)


# --- the Publication Log ----------------------------------------------------------------------


@dataclass
class LogRecord:
    """One Publication Log event about an item."""

    item: str  # 'ukpga/2031/7'
    title: str
    updated: dt.datetime
    content_type: str  # 'legislation' | 'changes' | 'associated-documents'
    event: str = "published"
    version: str = ""  # legislation: '' (latest), 'enacted', '2031-05-01'
    format: str = "xml"
    direction: str = "affected"  # changes only


def log_entry(r: LogRecord) -> str:
    kind, year, number = r.item.split("/")
    when = utc(r.updated)
    head = (
        "<entry>\n"
        f"  <id>{{id}}</id>\n"
        f"  <dc:identifier>{SITE}/id/{r.item}</dc:identifier>\n"
        f"  <title>{escape(r.title)}</title>\n"
        "  <author>\n    <name>editorial.legislation.gov.uk</name>\n  </author>\n"
        f"  <updated>{when}</updated>\n"
    )
    meta = (
        f'  <ukm:DocumentMainType Value="{CLASSES[kind]}"/>\n'
        f'  <ukm:Year Value="{year}"/>\n  <ukm:Number Value="{number}"/>\n'
    )
    if r.content_type == "changes":
        entry_id = f"{SITE}/changes/{r.direction}/{r.item}/{r.event}/{when}"
        return (
            head.format(id=entry_id)
            + meta
            + "  <pbl:ContentType>changes</pbl:ContentType>\n"
            + f"  <pbl:Event>{r.event}</pbl:Event>\n"
            + f"  <pbl:Direction>{r.direction}</pbl:Direction>\n</entry>"
        )
    document = f"{SITE}/{r.item}" + (f"/{r.version}" if r.version else "")
    if r.format == "pdf":
        resource = f"{SITE}/{r.item}/pdfs/{kind}_{year}{int(number):04d}_en.pdf"
    else:
        resource = f"{document}/data.xml"
    tag = "Item_Withdrawn" if r.event == "withdrawn" else "Item_Published"
    entry_id = f"{resource}/{r.event}/{when}"
    links = "".join(
        f'  <link rel="alternate" type="{t}" href="{document}/{name}" title="{label}"/>\n'
        for t, name, label in (
            ("application/rdf+xml", "data.rdf", "RDF/XML"),
            ("application/akn+xml", "data.akn", "AKN"),
            ("application/xhtml+xml", "data.xht", "HTML snippet"),
            ("application/akn+xhtml", "data.html", "HTML5 snippet"),
            ("text/html", "data.htm", "Website (XHTML) Default View"),
            ("application/pdf", "data.pdf", "PDF"),
        )
    )
    return (
        head.format(id=entry_id)
        + f'  <ukm:DocumentCategory Value="{CATEGORIES[kind]}"/>\n'
        + meta
        + f"  <pbl:ContentType>{r.content_type}</pbl:ContentType>\n"
        + f"  <pbl:Event>{r.event}</pbl:Event>\n"
        + "  <pbl:Republished>true</pbl:Republished>\n  <pbl:New>false</pbl:New>\n"
        + f"  <pbl:Document>{document}</pbl:Document>\n"
        + (links if r.format == "xml" else "")
        + f"  <pbl:{tag}>{resource}</pbl:{tag}>\n"
        + f"  <pbl:Format>{r.format}</pbl:Format>\n  <dc:language>en</dc:language>\n</entry>"
    )


LOG_NS = (
    ' xmlns:pbl="http://www.legislation.gov.uk/namespaces/publication-log"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def log_feed(feed_url: str, records: list[LogRecord], page: int = 1, per_page: int = PER_PAGE):
    entries = [log_entry(r) for r in records]
    return _envelope(feed_url, "Publication Log", entries, page, per_page, ns=LOG_NS)


# --- the server -------------------------------------------------------------------------------


class FeedServer:
    """Serves `/{item}/data.xml`, `/{item}/{version}/data.xml`,
    `/changes/affected/{item}/data.feed`, `/update/{date}/{item}/data.feed` and
    `/update/{item}/data.feed` (newest first), each paged with `?page=N`, with ETags and 304s.
    The unfiltered `/update/data.feed` answers 404: nothing should ever ask for it."""

    def __init__(self, per_page: int = PER_PAGE):
        self.per_page = per_page
        self.texts: dict[str, bytes] = {}  # '/ukpga/2031/7/data.xml' -> CLML
        self.effects: dict[str, list[Effect]] = {}
        self.titles: dict[str, str] = {}
        self.log: list[LogRecord] = []
        self.failures: dict[str, int] = {}  # path -> status (500s say Retry-After: 0)
        self.requests: list[str] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                with server._lock:
                    server.requests.append(self.path)
                code, body, headers = server.answer(self.path, self.headers)
                self.send_response(code)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- content ----------------------------------------------------------------------------

    def add_item(self, item: str, title: str, clml: bytes, effects: list[Effect] = ()) -> None:
        self.titles[item] = title
        self.texts[f"/{item}/data.xml"] = clml
        self.effects[item] = list(effects)

    def publish_effect(self, effect: Effect, when: dt.datetime | None = None) -> None:
        """A new effect on an item, and the Publication Log's `changes` entry for it."""
        self.effects.setdefault(effect.affected, []).append(effect)
        title = self.titles[effect.affected]
        self.log.append(LogRecord(effect.affected, title, when or _now(), "changes"))

    def publish_version(self, item: str, version: str, clml: bytes, when=None) -> None:
        """A new point in time, which is also the latest version, and its log entries."""
        when = when or _now()
        self.texts[f"/{item}/{version}/data.xml"] = clml
        self.texts[f"/{item}/data.xml"] = clml
        title = self.titles[item]
        self.log.append(LogRecord(item, title, when, "legislation", version=version))
        self.log.append(LogRecord(item, title, when, "legislation"))

    def log_event(self, record: LogRecord) -> None:
        self.log.append(record)

    # --- answers ----------------------------------------------------------------------------

    def answer(self, raw: str, headers) -> tuple[int, bytes, dict]:
        parsed = urlparse(raw)
        path, query = parsed.path, parse_qs(parsed.query)
        if path in self.failures:
            return self.failures[path], b"error", {"Retry-After": "0"}
        page = int((query.get("page") or ["1"])[0])
        body = self._body(path, query, page)
        if body is None:
            return 404, b"not here", {}
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if headers.get("If-None-Match") == etag:
            return 304, b"", {"ETag": etag}
        kind = "application/atom+xml" if path.endswith(".feed") else "application/xml"
        return 200, body, {"Content-Type": kind, "ETag": etag, "Date": formatdate(usegmt=True)}

    def _body(self, path: str, query: dict, page: int) -> bytes | None:
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n"
        if path in self.texts:
            return self.texts[path]
        steps = [s for s in path.split("/") if s]
        if steps[-1:] != ["data.feed"]:
            return None
        if steps[:2] == ["changes", "affected"]:
            item = "/".join(steps[2:-1])
            if item not in self.effects:
                return None
            return changes_feed(item, self.effects[item], page, self.per_page)
        if steps[:1] == ["update"] and len(steps) > 2:
            return self._log_page(steps[1:-1], query, page)
        return None  # the unfiltered /update/data.feed included

    def _log_page(self, steps: list[str], query: dict, page: int) -> bytes:
        day = steps[0] if re.match(r"^\d{4}-\d{2}-\d{2}$", steps[0]) else None
        item = "/".join(steps[1:] if day else steps)
        records = [r for r in self.log if r.item == item and (day is None or _day(r) == day)]
        descending = (query.get("sortorder") or ["descending"])[0] == "descending"
        records.sort(key=lambda r: r.updated, reverse=descending)
        feed_url = f"{SITE}/update/{'/'.join(steps)}/data.feed"
        if not day:
            feed_url += "?sort=date&sortorder=descending"
        return log_feed(feed_url, records, page, self.per_page)

    def paths(self, exclude_robots: bool = True) -> list[str]:
        with self._lock:
            return [p for p in self.requests if not (exclude_robots and p == "/robots.txt")]


def _day(record: LogRecord) -> str:
    return record.updated.astimezone(dt.UTC).date().isoformat()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
