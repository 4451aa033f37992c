"""Highlights for the page of hits, the same whichever engine found them.

A hit shows its text and heading escaped, with the words of the query marked: every word
whose stem (indexer/index/analysis) is a stem of a query word, or one of the indexed words a
wildcard of the query stood for (as the engine expanded it). Words under NOT are never
marked. A passage of up to SHORT_PASSAGE_CHARS is shown whole, a longer one as up to two
fragments around the marked words; where nothing is marked, the text's lead (and the heading
as it is). This is the output Whoosh's own highlighter made with ContextFragmenter(240, 70),
WholeFragmenter and a formatter escaping the text (tests/test_highlight.py compares the two),
reading each word once instead of running Whoosh's analyser pipeline per hit.
"""

from __future__ import annotations

import heapq
import html
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from indexer.index import analysis
from kb.core.query import And, Group, Node, Not, Or, Phrase, Term, Wildcard

SHORT_PASSAGE_CHARS = 320  # shown whole
CONTEXT_MAXCHARS, CONTEXT_SURROUND, TOP_FRAGMENTS = 240, 70, 2  # ContextFragmenter(240, 70)
CHAR_LIMIT = 2**15  # Whoosh's: words past this many characters are never marked
LEAD_CHARS = 240
BETWEEN = " … "
FIELDS = ("body", "heading")  # the fields a hit shows: its text and its heading


@dataclass
class Marks:
    """The words marked in one field: stems of the query's words, and the words the query's
    wildcards (as regular expressions) stood for there."""

    stems: set[str] = field(default_factory=set)
    patterns: list[re.Pattern] = field(default_factory=list)
    expanded: frozenset[str] = frozenset()

    def __contains__(self, word: str) -> bool:
        if not word:
            return False
        if word in self.stems:
            return True
        return word in self.expanded and any(p.fullmatch(word) for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.stems or self.patterns)


def marks(
    trees: Iterable[Node | None], expanded: Mapping[str, Iterable[str]] | None = None
) -> dict[str, Marks]:
    """The words to mark in each field a hit shows, from the query trees run (NOT branches
    left out). expanded: field -> the indexed words the engine let the query's wildcards
    stand for in that field (indexer.index.engine.cap_expansion)."""
    found = {name: Marks(expanded=frozenset((expanded or {}).get(name, ()))) for name in FIELDS}
    for tree in trees:
        if tree is not None:
            _collect(tree, found)
    return found


def _collect(node: Node, found: dict[str, Marks]) -> None:
    if isinstance(node, Not):
        return
    if isinstance(node, Group | And | Or):
        for child in node.children:
            _collect(child, found)
        return
    for name in FIELDS if node.field is None else (node.field,):
        if name not in found:
            continue
        if isinstance(node, Wildcard):
            found[name].patterns.append(_pattern(node.pattern))
        elif isinstance(node, Phrase):
            found[name].stems.update(analysis.query_words(" ".join(node.words)))
        elif isinstance(node, Term):
            found[name].stems.update(analysis.query_words(node.word))


def _pattern(token: str) -> re.Pattern:
    """A wildcard (tok*, consult?ng) as the regular expression its indexed words match."""
    return re.compile(analysis.wildcard_regex(analysis.wildcard(token)))


def highlights(text: str, heading: str, found: dict[str, Marks]) -> tuple[str, str]:
    """(snippet_html, heading_html): the text (whole or in fragments) and the heading, escaped,
    the query's words in <mark>; the lead of the text where nothing in it is marked."""
    snippet = highlight(text, found["body"], whole=len(text) <= SHORT_PASSAGE_CHARS)
    marked_heading = highlight(heading, found["heading"], whole=True)
    return snippet or lead(text), marked_heading or html.escape(heading, quote=False)


def lead(text: str, limit: int = LEAD_CHARS) -> str:
    """The start of the text, escaped, cut at a word before `limit` characters."""
    cut = text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
    return html.escape(cut, quote=False)


Token = tuple[int, int, str, bool]  # start, end, stem, marked


def highlight(text: str, words: Marks, whole: bool) -> str:
    """Escaped text with the marked words in <mark>, whole or as fragments; "" when no word
    is marked."""
    if not words:
        return ""
    tokens = [(start, end, stem, stem in words) for start, end, stem in analysis.marked_words(text)]
    if whole:
        matches = [token for token in tokens if token[3] and token[1] <= CHAR_LIMIT]
        return _format(text, 0, len(text), matches) if matches else ""
    # Whoosh's top_fragments: the best scored (a tie goes to the later one), shown in order.
    best = heapq.nlargest(TOP_FRAGMENTS, _fragments(tokens), key=lambda f: (_score(f), f[0]))
    best.sort(key=lambda fragment: fragment[0])
    return BETWEEN.join(_format(text, start, end, matches) for start, end, matches in best)


def _score(fragment: tuple[int, int, list[Token]]) -> int:
    """Whoosh's BasicFragmentScorer: marked words, times 100 for each different one."""
    matches = fragment[2]
    return len(matches) * (len({token[2] for token in matches}) * 100 or 1)


def _fragments(tokens: list[Token]) -> Iterable[tuple[int, int, list[Token]]]:
    """Whoosh's ContextFragmenter(maxchars=240, surround=70): (start, end, marked tokens)."""
    first = None
    firsts: deque[int] = deque()
    countdown = -1
    matches: list[Token] = []
    endchar = None
    length = 0
    for token in tokens:
        startchar, endchar, _, matched = token
        if endchar > CHAR_LIMIT:
            break
        size = endchar - startchar
        if countdown < 0 and not matched:
            firsts.append(startchar)
            while firsts and endchar - firsts[0] > CONTEXT_SURROUND:
                firsts.popleft()
        elif length + size > CONTEXT_MAXCHARS:
            countdown = 0
        elif matched:
            countdown = CONTEXT_SURROUND
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = startchar
                    countdown += CONTEXT_SURROUND
            matches.append(token)
        if countdown >= 0:
            length += size
            countdown -= size
            if countdown <= 0:
                if matches:  # else Whoosh's fragment has no marks, and is never shown
                    yield first, endchar, matches
                matches, firsts, first, length = [], deque(), None, 0
    if matches:
        yield first, endchar, matches


def _format(text: str, start: int, end: int, matches: list[Token]) -> str:
    out = []
    index = start
    for token_start, token_end, _, _ in matches:
        if token_start < index:
            continue
        out.append(html.escape(text[index:token_start], quote=False))
        out.append("<mark>" + html.escape(text[token_start:token_end], quote=False) + "</mark>")
        index = token_end
    out.append(html.escape(text[index:end], quote=False))
    return "".join(out)
