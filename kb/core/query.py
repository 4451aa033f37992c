"""Checking what people type into the search box, and the typed tree every engine compiles.

The syntax officers use: plain words, "quoted phrases", AND / OR / NOT, brackets, a trailing
wildcard (consult*) and a few field filters (type:act, status:withdrawn, title:tupe).
Anything else (a boost such as duty^3, which the two engines would read differently) is
refused with a message that says what to change, never a stack trace.

A checked query is parsed once, here, into a small tree of frozen dataclasses (Term, Phrase,
Wildcard, And, Or, Not, Group) with Whoosh's precedence: NOT binds tightest, then AND, then
OR, and words side by side (a Group) are the loosest. What a Group means (every word, or any
word) is the engine compiler's to be told (indexer/index/plan.py): the same tree is run both
ways. str(node) renders a tree back in this syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kb.core.words import STOP_WORDS

MAX_QUERY_CHARS = 500
MAX_TERMS = 40
MIN_WILDCARD_PREFIX = 3

# What a person may type before a colon, and the index field it searches.
FIELDS = {
    "title": "title",
    "heading": "heading",
    "text": "body",
    "cite": "cite_text",
    "type": "doc_type",
    "doc_type": "doc_type",
    "status": "status",
    "doc": "document_id",
    "document": "document_id",
}
OPERATORS = ("AND", "OR", "NOT")

_TOKEN = re.compile(r'"[^"]*"|\(|\)|[^\s()"]+')


class QueryError(ValueError):
    """A query we will not run, with a message fit to show the person who typed it."""


@dataclass(frozen=True)
class Term:
    word: str  # as typed: each engine analyses it (stems, stop words, "2.1" kept whole)
    field: str | None = None  # an index field name; None: every search field

    def __str__(self) -> str:
        return _fielded(self.field, self.word)


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    field: str | None = None

    def __str__(self) -> str:
        return _fielded(self.field, '"' + " ".join(self.words) + '"')


@dataclass(frozen=True)
class Wildcard:
    pattern: str  # consult* (a prefix) or consult?ng
    field: str | None = None

    def __str__(self) -> str:
        return _fielded(self.field, self.pattern)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(map(str, self.children))


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(map(str, self.children))


@dataclass(frozen=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"NOT {self.child}"


@dataclass(frozen=True)
class Group:
    """Words side by side: all of them for the strict reading, any for the relaxed one."""

    children: tuple[Node, ...]
    bracketed: bool = True  # typed in brackets; False for a whole query

    def __str__(self) -> str:
        inner = " ".join(map(str, self.children))
        return f"({inner})" if self.bracketed else inner


Node = Term | Phrase | Wildcard | And | Or | Not | Group
Leaf = Term | Phrase | Wildcard


def leaves(node: Node) -> Iterator[Leaf]:
    """The words, phrases and wildcards of a tree, in the order typed."""
    if isinstance(node, Group | And | Or):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, Not):
        yield from leaves(node.child)
    else:
        yield node


def _fielded(field: str | None, text: str) -> str:
    return f"{field}:{text}" if field else text


@dataclass(frozen=True)
class CheckedQuery:
    text: str  # the query, rewritten with index field names
    terms: tuple[str, ...]  # the words and phrases a person typed, for messages and spelling
    tree: Group  # text, parsed


def check(raw: str) -> CheckedQuery:
    text = _normalised(raw)
    out, terms = _walk(_TOKEN.findall(text))
    _check_totals(text, terms)
    checked = " ".join(out)
    return CheckedQuery(text=checked, terms=tuple(terms), tree=parse(checked))


def parse(text: str) -> Group:
    """The tree of a query in this syntax with index field names (check()'s text). Refuses
    (QueryError) what cannot be read, such as a bracket not closed, but does not check sizes
    or stop words: an engine handed a query directly searches what it can."""
    return _Parser(_TOKEN.findall(text)).parse()


_INDEX_FIELDS = frozenset(FIELDS.values())
_UNREADABLE = "We could not understand that search. Check the operators and brackets."


class _Parser:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.at = 0

    def parse(self) -> Group:
        node = self._sequence(bracketed=False)
        if self.at != len(self.tokens):
            raise QueryError("A closing bracket ')' has no opening bracket '('.")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _sequence(self, bracketed: bool) -> Group:
        items = []
        while self._peek() not in (None, ")"):
            items.append(self._joined("OR", Or, self._and))
        return Group(tuple(items), bracketed)

    def _and(self) -> Node:
        return self._joined("AND", And, self._unary)

    def _joined(self, operator: str, kind, operand) -> Node:
        items = [operand()]
        while self._peek() == operator:
            self.at += 1
            items.append(operand())
        return items[0] if len(items) == 1 else kind(tuple(items))

    def _unary(self) -> Node:
        if self._peek() == "NOT":
            self.at += 1
            return Not(self._unary())
        token = self._peek()
        if token is None or token in ("AND", "OR", ")"):
            raise QueryError(_UNREADABLE)
        self.at += 1
        if token != "(":
            return leaf(token)
        node = self._sequence(bracketed=True)
        if self._peek() != ")":
            raise QueryError("A bracket '(' is not closed.")
        self.at += 1
        return node


def leaf(token: str) -> Leaf:
    """One word, phrase or wildcard token, with its field if it names an index field."""
    field = None
    name, colon, value = token.partition(":")
    if colon and value and name in _INDEX_FIELDS:
        field, token = name, value
    if token.startswith('"'):
        return Phrase(tuple(token.strip('"').split()), field)
    if "*" in token or "?" in token:
        return Wildcard(token, field)
    return Term(token, field)


def _normalised(raw: str) -> str:
    """The query with its spaces collapsed, refused if empty, too long or a quote is open."""
    text = " ".join((raw or "").split())
    if not text:
        raise QueryError("Type some words to search for.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"Your search is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS}. "
            "Use a few distinctive words or a short quoted phrase."
        )
    if text.count('"') % 2:
        raise QueryError('A quotation mark is not closed. Put phrases in pairs of "quotes".')
    return text


def _walk(tokens: list[str]) -> tuple[list[str], list[str]]:
    """The tokens checked in order (brackets balanced, operators between words), rewritten
    with index field names, and the words and phrases typed."""
    depth = 0
    previous: str | None = None  # None at the start, else "operator", "open", "term", "close"
    out: list[str] = []
    terms: list[str] = []
    for token in tokens:
        kind = _kind(token)
        depth += {"open": 1, "close": -1}.get(kind, 0)
        _check_place(kind, token, previous, depth, out[-1] if out else None)
        if kind == "term":
            token = _check_term(token)
            terms.append(token.split(":", 1)[-1])
        out.append(token)
        previous = kind
    if depth:
        raise QueryError("A bracket '(' is not closed.")
    if previous == "operator":
        raise QueryError(f"'{out[-1]}' at the end needs words after it.")
    return out, terms


def _check_place(kind: str, token: str, previous: str | None, depth: int, last: str | None):
    """Whether a token may come where it does, given the one before it."""
    if kind == "close" and depth < 0:
        raise QueryError("A closing bracket ')' has no opening bracket '('.")
    if kind == "close" and previous in ("open", None):
        raise QueryError("Empty brackets: put some words between '(' and ')'.")
    if kind != "operator":
        return
    if token in ("AND", "OR") and previous in (None, "operator", "open"):
        raise QueryError(f"'{token}' needs words on both sides, as in: duty {token} power.")
    if previous == "operator" and (token != "NOT" or last == "NOT"):
        raise QueryError(f"Two operators in a row: '{last} {token}'.")


def _check_totals(text: str, terms: list[str]) -> None:
    """Some words, not too many, and not only stop words."""
    if not terms:
        raise QueryError("Type some words to search for, not only operators or brackets.")
    if len(terms) > MAX_TERMS:
        raise QueryError(f"Your search has {len(terms)} terms; the limit is {MAX_TERMS}.")
    words = [w for term in terms for w in re.findall(r"[\w*?]+", term.lower())]
    if words and all(w in STOP_WORDS for w in words):
        raise QueryError(
            f"'{text}' has only words too common to search for. Add a word that says what "
            "you need, as in: duty to consult."
        )


def _kind(token: str) -> str:
    if token == "(":
        return "open"
    if token == ")":
        return "close"
    if token in OPERATORS:
        return "operator"
    return "term"


# word^2, "a phrase"^2, (a b)^0.5: a boost, in Lucene's and Whoosh's syntax, not in ours.
_BOOST = re.compile(r"\^\.?\d")


def _check_term(token: str) -> str:
    if token.startswith('"'):
        if not token.strip('"').strip():
            raise QueryError('An empty phrase "" has nothing to search for.')
        return token
    if _BOOST.search(token):
        raise QueryError(
            f"'{token}': boosts (word^2) are not part of the search syntax. Type the words on "
            "their own: titles and headings already count for more, and passages with all "
            "your words rank first."
        )
    name, colon, value = token.partition(":")
    if colon and value.startswith("//"):  # a pasted URL is words, not a field
        return token.replace(":", " ")
    if colon and not value and name.lower() not in FIELDS:
        token, colon = name, ""  # "Note:" typed as prose: drop the colon rather than fail
    if colon and not name.startswith('"') and re.fullmatch(r"[A-Za-z_]+", name):
        return _field_term(name, value)
    _check_wildcard(token)
    return token.replace(":", " ") if colon else token


def _field_term(name: str, value: str) -> str:
    """'type:act' -> 'doc_type:act': a field people may search, with a value."""
    field = FIELDS.get(name.lower())
    if field is None:
        allowed = ", ".join(f"{f}:" for f in sorted(set(FIELDS) - {"doc_type", "document"}))
        raise QueryError(f"You can't search the field '{name}'. Fields you can use: {allowed}")
    if not value:
        raise QueryError(f"'{name}:' needs a value after the colon, as in {name}:duty.")
    _check_wildcard(value)
    return f"{field}:{value}"


def _check_wildcard(word: str) -> None:
    if "*" not in word and "?" not in word:
        return
    prefix = re.split(r"[*?]", word, maxsplit=1)[0]
    if len(prefix) < MIN_WILDCARD_PREFIX:
        raise QueryError(
            f"'{word}': a wildcard needs at least {MIN_WILDCARD_PREFIX} letters before it, "
            "as in consult*."
        )
