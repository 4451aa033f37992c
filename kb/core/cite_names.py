"""Finding instrument names in text without one pattern of every name (kb.core.cite.Registry).

A name's pattern (kb.core.cite._name_pattern) matches its words with any punctuation between
them, acronym letters with or without dots ("L.G.A.") and "&" for "and", case-insensitively.
Whatever it matches therefore reads, once lower-cased and stripped of everything but letters
and digits ("squashed"), exactly as the name's key does. So a name can only match where the
squashed text holds its squashed key between word boundaries: those stretches of the text are
looked up in a dict, and only the few names found there are compiled into the pattern that
scans it. The cost follows the text, not the number of instruments (the pattern of all 24,000
names of a 1,000,000-passage index took ~6 s to compile and ~1 ms to run over each query).
"""

from __future__ import annotations

import bisect
import re
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# Characters a case-insensitive [A-Za-z0-9] matches, as the letter they match.
_FOLDS = {"İ": "i", "ı": "i", "K": "k", "ſ": "s"}
_SQUASH = {ch: ch.lower() for ch in string.ascii_letters + string.digits} | _FOLDS | {"&": "and"}
_WORD = frozenset(string.ascii_letters + string.digits) | frozenset(_FOLDS)
_CACHED_PATTERNS = 512  # compiled patterns kept per index, one per set of candidate names


def squash(text: str) -> str:
    """'L.G.A., 1999' -> 'lga1999': what a name's pattern matches, as its key squashes."""
    return "".join(_SQUASH.get(ch, "") for ch in text)


def _stretches(text: str, longest: int) -> set[str]:
    """The squashed stretches of text from a word start to a word end, at most `longest`
    long: where a name's match starts, the character before is not a letter or digit, and
    where it ends (after its last letter or digit), the character after is not one."""
    squashed: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    size = 0
    last = len(text) - 1
    for i, ch in enumerate(text):
        piece = _SQUASH.get(ch)
        if not piece:
            continue
        if i == 0 or text[i - 1] not in _WORD:
            starts.append(size)
        squashed.append(piece)
        size += len(piece)
        if i == last or text[i + 1] not in _WORD:
            ends.append(size)
    flat = "".join(squashed)
    found: set[str] = set()
    for start in starts:
        for end in ends[bisect.bisect_right(ends, start) :]:
            if end > start + longest:
                break
            found.add(flat[start:end])
    return found


@dataclass(eq=False)
class NameIndex:
    """Name keys in the order their patterns are tried (longest first), by squashed key."""

    ordered: list[str]  # keys, longest first
    pattern: Callable[[str], str]  # a key's pattern (kb.core.cite._name_pattern of its name)
    _by_squash: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _always: list[int] = field(default_factory=list, repr=False)  # keys squashing to ''
    _longest: int = 0
    _compiled: dict[tuple[int, ...], re.Pattern[str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for i, key in enumerate(self.ordered):
            squashed = squash(key)
            if squashed:
                self._by_squash.setdefault(squashed, []).append(i)
            else:
                self._always.append(i)
        self._longest = max(map(len, self._by_squash), default=0)

    def candidates(self, text: str) -> tuple[int, ...]:
        """Positions in `ordered` of every key whose pattern could match somewhere in text."""
        found = list(self._always)
        for stretch in _stretches(text, self._longest):
            found += self._by_squash.get(stretch, ())
        return tuple(sorted(found))

    def finditer(self, text: str):
        """What one pattern of every name, tried longest first, finds in text."""
        chosen = self.candidates(text)
        if not chosen:
            return iter(())
        return self._compile(chosen).finditer(text)

    def _compile(self, chosen: tuple[int, ...]) -> re.Pattern[str]:
        compiled = self._compiled.get(chosen)
        if compiled is None:
            alternatives = "|".join(self.pattern(self.ordered[i]) for i in chosen)
            compiled = re.compile(
                rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE
            )
            with self._lock:
                if len(self._compiled) >= _CACHED_PATTERNS:
                    self._compiled.clear()
                self._compiled[chosen] = compiled
        return compiled

    def same_squash(self, text: str) -> list[str]:
        """The keys, in order, that a match reading as text could be a spelling of."""
        chosen = sorted([*self._by_squash.get(squash(text), ()), *self._always])
        return [self.ordered[i] for i in chosen]
