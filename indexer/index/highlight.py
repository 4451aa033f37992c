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

import bisect
import functools
import html
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate, compress

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
    _marked: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def __contains__(self, word: str) -> bool:
        if not word:
            return False
        if word in self.stems:
            return True
        return word in self.expanded and any(p.fullmatch(word) for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.stems or self.patterns)

    def flags(self, stems: list[str]) -> list[bool]:
        """Whether each word (by its stem, analysis.written_stems) is marked."""
        if not self.patterns and "" not in self.stems:
            return list(map(self.stems.__contains__, stems))
        marked = self._marked  # for the hits of one search: most words recur
        for stem in set(stems).difference(marked):
            marked[stem] = stem in self
        return list(map(marked.__getitem__, stems))


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


def highlight(text: str, words: Marks, whole: bool) -> str:
    """Escaped text with the marked words in <mark>, whole or as fragments; "" when no word
    is marked."""
    if not words:
        return ""
    if whole:
        return _whole(text, words)
    found = _Words.of(text, words)
    if found is None:
        return ""
    # Whoosh's top_fragments: the best scored (a tie goes to the later one), shown in order.
    scored = [(found.score(marked), start, end, marked) for start, end, marked in _fragments(found)]
    best = sorted(scored, key=_score_then_start, reverse=True)[:TOP_FRAGMENTS]
    best.sort(key=_start)
    return BETWEEN.join(
        _format(text, start, end, [found.span(i) for i in marked]) for _, start, end, marked in best
    )


def _whole(text: str, words: Marks) -> str:
    """The text escaped, its marked words (up to CHAR_LIMIT) in <mark>; "" if none."""
    parts = analysis.split_words(text)  # between, word, between, ..., between
    flags = words.flags(analysis.written_stems(parts[1::2]))
    if True not in flags:
        return ""
    if len(text) <= CHAR_LIMIT:
        return _marked_parts(parts, flags, _SPECIAL.search(text) is not None)
    bounds = list(accumulate(map(len, parts)))
    # Each word starts where the text before it ends, and ends where it does.
    spans = list(compress(zip(bounds[0::2], bounds[1::2], strict=False), flags))
    if len(text) > CHAR_LIMIT:
        spans = [span for span in spans if span[1] <= CHAR_LIMIT]
    return _format(text, 0, len(text), spans)


def _marked_parts(parts: list[str], flags: list[bool], special: bool) -> str:
    """What _format gives for the whole text split into parts (analysis.split_words), its
    flagged words in <mark>: the parts joined, each piece escaped (a word has nothing to
    escape), without working out where each word starts."""
    out = list(map(_escape, parts)) if special else parts.copy()
    for i in compress(range(1, len(parts), 2), flags):
        out[i] = "<mark>" + out[i] + "</mark>"
    return "".join(out)


def _score_then_start(fragment: tuple) -> tuple[int, int]:
    return fragment[0], fragment[1]


def _start(fragment: tuple) -> int:
    return fragment[1]


@dataclass
class _Words:
    """The words of a text (analysis.WORD, as STEM reads them for highlighting) up to
    CHAR_LIMIT, as parallel lists: where each starts and ends, whether it is marked."""

    stems: list[str]  # analysis.written_stems
    starts: list[int]
    ends: list[int]
    flags: list[bool]
    # Where Whoosh's fragmenter stopped: the end of the first word past CHAR_LIMIT, if any,
    # else of the last word.
    last: int

    @classmethod
    def of(cls, text: str, marks: Marks) -> _Words | None:
        """None when no word of the text is marked."""
        parts = analysis.split_words(text)  # between, word, between, ..., between
        stems = analysis.written_stems(parts[1::2])
        flags = marks.flags(stems)
        if True not in flags:
            return None
        bounds = list(accumulate(map(len, parts)))
        starts, ends = bounds[0:-1:2], bounds[1::2]
        if len(text) <= CHAR_LIMIT:
            return cls(stems, starts, ends, flags, ends[-1])
        cut = bisect.bisect_right(ends, CHAR_LIMIT)
        last = ends[cut] if cut < len(ends) else ends[-1]
        if cut < len(ends):
            del stems[cut:], starts[cut:], ends[cut:], flags[cut:]
            if True not in flags:
                return None
        return cls(stems, starts, ends, flags, last)

    def span(self, i: int) -> tuple[int, int]:
        return self.starts[i], self.ends[i]

    def next_marked(self, i: int) -> int:
        """The index of the first marked word from i on (len(words) if none)."""
        try:
            return self.flags.index(True, i)
        except ValueError:
            return len(self.flags)

    @functools.cached_property
    def sums(self) -> list[int]:
        """sums[i]: the characters of the words before the i-th (as Whoosh counts a
        fragment's length: words only)."""
        return list(accumulate(map(operator.sub, self.ends, self.starts), initial=0))

    def context(self, i: int) -> tuple[int | None, int]:
        """(Where the next fragment's context starts, or None; the next marked word) for the
        run of unmarked words from i: the first of them starting within CONTEXT_SURROUND
        characters of the run's end."""
        j = self.next_marked(i)
        k = bisect.bisect_left(self.starts, self.ends[j - 1] - CONTEXT_SURROUND, i, j)
        return (self.starts[k] if k < j else None), j

    def run_end(self, i: int, j: int, length: int, countdown: int) -> tuple[int, int] | None:
        """Where a fragment of `length` characters with `countdown` to go ends among the
        unmarked words i..j-1: (that word, the countdown after it), None if it does not. It
        ends at the first word that would make it longer than CONTEXT_MAXCHARS (the countdown
        is then that word's size below 0), or that uses up the countdown."""
        sums, before = self.sums, self.sums[i]
        too_long = bisect.bisect_right(sums, CONTEXT_MAXCHARS - length + before, i + 1, j + 1)
        spent = bisect.bisect_left(sums, countdown + before, i + 1, j + 1)
        end = min(too_long, spent) - 1
        if end >= j:
            return None
        if too_long <= spent:
            return end, self.starts[end] - self.ends[end]
        return end, countdown - (sums[end + 1] - before)

    def score(self, marked: list[int]) -> int:
        """Whoosh's BasicFragmentScorer: marked words, times 100 for each different one."""
        return len(marked) * (len({self.stems[i] for i in marked}) * 100 or 1)


def _fragments(found: _Words) -> Iterable[tuple[int, int, list[int]]]:
    """Whoosh's ContextFragmenter(maxchars=240, surround=70): (start, end, marked words).

    Whoosh walks every word. Here a run of unmarked words is taken at once: between fragments
    the next one's context is the first of them starting within `surround` characters of the
    run's end, found by bisection; inside a fragment, the word where its length or its
    countdown runs out, found by bisection in the words' running length (_Words.run_end)."""
    starts, ends, flags = found.starts, found.ends, found.flags
    first = lead = None
    countdown, length, i = -1, 0, 0
    matches: list[int] = []
    while i < len(starts):
        if not flags[i] and countdown < 0:
            lead, i = found.context(i)
            continue
        if not flags[i] and countdown > 0:
            j = found.next_marked(i)
            ended = found.run_end(i, j, length, countdown)
            if ended is None:  # the fragment goes on past the run
                run = found.sums[j] - found.sums[i]
                length, countdown, i = length + run, countdown - run, j
                continue
            i, countdown = ended
        else:
            size = ends[i] - starts[i]
            if length + size > CONTEXT_MAXCHARS:
                countdown = 0
            elif flags[i]:
                countdown = CONTEXT_SURROUND
                if first is None:
                    first = lead if lead is not None else starts[i]
                    countdown += CONTEXT_SURROUND if lead is None else 0
                matches.append(i)
            # A marked word, or the word after a fragment that ended at exactly 0: the
            # countdown is not below 0 here, so the word counts (as Whoosh counts it).
            length += size
            countdown -= size
        if countdown <= 0:
            if matches:  # else Whoosh's fragment has no marks, and is never shown
                yield first, ends[i], matches
            matches, lead, first, length = [], None, None, 0
        i += 1
    if matches:
        yield first, found.last, matches


def _format(text: str, start: int, end: int, matches: list[tuple[int, int]]) -> str:
    """text[start:end] escaped, each span of matches in <mark>; "" for no matches."""
    if not matches:
        return ""
    # Most text has nothing to escape: then each piece is itself (str of a str is the same).
    escape = str if _SPECIAL.search(text, start, end) is None else _escape
    out = []
    index = start
    for token_start, token_end in matches:
        if token_start < index:
            continue
        out.append(escape(text[index:token_start]))
        out.append("<mark>" + escape(text[token_start:token_end]) + "</mark>")
        index = token_end
    out.append(escape(text[index:end]))
    return "".join(out)


_SPECIAL = re.compile("[&<>]")  # what html.escape(quote=False) changes


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
