"""Where a search's time goes, by stage: a mapping from function names to stages.

A rule names a function by a part of its file's path and its name ("whoosh_engine.py:_suggest")
and, optionally, the function calling it. A profile's time is given to stages call by call: a
call from caller to callee belongs to the first rule that matches both (so the same function
can count as two stages, from two callers). Comprehensions (<listcomp>, <genexpr>) stand for the
function they are written in. Rules name whole subtrees and never one inside another, so the
stages add up to at most the total; what no rule names is "other", and a test keeps it small.

Where one function makes two different passes (the Whoosh engine's `_top` ranks, then checks
for an all-words match; tantivy's `Searcher.search` likewise), `install_splits` puts a small
dispatcher in front of it in the profiling process that calls it through a differently named
pass-through function, chosen by the source text of the calling line. The engines are never
edited: the splits live here, and find their call sites by text, not line numbers.
"""

from __future__ import annotations

import linecache
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

PARSE = "parse, check, synonyms"
RANKED = "ranked pass (all words OR any word OR exact phrase: one query)"
STRICT = "strict check: any all-words match? (the relaxed flag)"
PHRASE = "exact phrase (building, checking its words)"
GROUPS = "rank groups (per-word doc sets, per-group passes)"
DOC_SET = "doc-set collection (every match)"
FACETS = "facet counting (incl. disjunctive recounts)"
SPELLING = "spelling (did you mean)"
CITATION = "citation resolution (kb.search.citation_hit)"
HIGHLIGHT = "highlighting"
SHAPING = "result shaping (records, effects, outstanding changes)"
JSON = "JSON encoding (jsonify)"
ETAG = "ETag digest (second JSON encoding, SHA-256)"
FLASK = "Flask overhead (routing, hooks, test client)"
OTHER = "other (unattributed: glue code's own time)"
STAGES = (
    PARSE,
    RANKED,
    STRICT,
    PHRASE,
    GROUPS,
    DOC_SET,
    FACETS,
    SPELLING,
    CITATION,
    HIGHLIGHT,
    SHAPING,
    JSON,
    ETAG,
    FLASK,
    OTHER,
)

W = "indexer/index/whoosh_engine.py"
T = "indexer/index/tantivy_engine.py"
# The function whose calls the Flask path's stages are inside; the rest of it is Flask's.
VIEW = "kb/web/api.py:search"
COMPREHENSIONS = ("<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>")


@dataclass(frozen=True)
class Rule:
    stage: str
    function: str  # "path part:name"; a builtin: ":<method 'search' of" (a part of its name)
    caller: str = ""  # "path part:name" of the calling function; "" any

    def matches(self, callee: tuple[str, str], caller: tuple[str, str] | None) -> bool:
        if not _named(self.function, callee):
            return False
        return not self.caller or (caller is not None and _named(self.caller, caller))


def _named(pattern: str, function: tuple[str, str]) -> bool:
    path, _, name = pattern.rpartition(":")
    file, funcname = function
    if funcname.startswith("<") and funcname not in COMPREHENSIONS:  # a builtin
        return not path and name in funcname
    return funcname == name and path in file.replace("\\", "/")


def _rules(stage: str, functions: Iterable[str], caller: str = "") -> list[Rule]:
    return [Rule(stage, f, caller) for f in functions]


P = "indexer/index/plan.py"
E = "indexer/index/engine.py"

RULES: list[Rule] = [
    # the bench's own passes, named by install_splits
    Rule(RANKED, "bench/stages.py:ranked_pass"),
    Rule(STRICT, "bench/stages.py:strict_check"),
    # parse, check, synonyms, and compiling the plan's trees into the engine's queries
    Rule(PARSE, "kb/search.py:make_request"),
    Rule(PARSE, "kb/search.py:_lists"),
    Rule(PARSE, "kb/core/query.py:check", "bench/measure.py:plain_request"),
    Rule(PARSE, f"{P}:for_request"),
    *_rules(PARSE, (f"{W}:__call__", f"{W}:__init__", f"{W}:_cap_wildcards"), f"{W}:_queries"),
    Rule(PARSE, f"{W}:_filters", f"{W}:search"),
    *_rules(PARSE, (f"{T}:_analysed", f"{T}:__call__", f"{T}:__init__"), f"{T}:search"),
    Rule(PARSE, f"{T}:_filters", f"{T}:_run"),
    Rule(PARSE, f"{T}:_with", f"{T}:_run"),
    # exact phrase: Whoosh builds it beside the other trees; tantivy's is compiled with the
    # relaxed tree in _hybrid (its matching is part of the ranked pass: one query)
    Rule(PHRASE, f"{W}:_exact_phrase"),
    Rule(PHRASE, f"{T}:_hybrid"),
    # rank groups, doc sets, facets
    Rule(GROUPS, f"{W}:_in_rank_groups"),
    Rule(GROUPS, f"{T}:_in_rank_groups"),
    Rule(DOC_SET, f"{W}:_doc_set", f"{W}:_ranked"),
    Rule(FACETS, f"{W}:count", f"{W}:_ranked"),
    Rule(FACETS, f"{W}:_count_without_own_filter"),
    Rule(FACETS, f"{E}:facet_lists"),
    Rule(FACETS, f"{E}:filtered_facets"),
    # tantivy counts facets (one aggregation, and one per facet filtered) inline in a small
    # index, else on a second thread beside the ranking: what the searching thread spends
    # is starting them (or counting them inline) and waiting for what is not done by then.
    # The second thread's own time is not this thread's (cProfile and these stacks follow
    # one thread).
    Rule(FACETS, f"{T}:start", f"{T}:_run"),
    Rule(FACETS, f"{T}:_counted", f"{T}:_run"),
    # spelling, citations
    Rule(SPELLING, f"{W}:_suggest"),
    Rule(SPELLING, f"{T}:_suggest"),
    Rule(SPELLING, f"{P}:wants_suggestion"),
    Rule(CITATION, "kb/search.py:citation_hit"),
    # highlighting (indexer/index/highlight, for the returned page only)
    Rule(HIGHLIGHT, f"{P}:marks"),
    Rule(HIGHLIGHT, "indexer/index/highlight.py:highlights", f"{P}:hit"),
    Rule(HIGHLIGHT, f"{W}:_expansions", f"{W}:search"),
    # result shaping
    Rule(SHAPING, f"{W}:_record", f"{W}:search"),
    Rule(SHAPING, "whoosh/searching.py:fields", f"{W}:search"),
    Rule(SHAPING, f"{T}:_record", f"{T}:search"),
    Rule(SHAPING, f"{T}:record", f"{T}:search"),  # _Top.record: those rank groups did not read
    Rule(SHAPING, ":<method 'doc' of", f"{T}:search"),
    Rule(SHAPING, f"{E}:to_dict"),
    # (not plan.response, which holds facet_lists: that is FACETS', and rules never nest)
    *_rules(
        SHAPING,
        (
            "kb/search.py:_cited_first",
            "kb/search.py:_result",
            "kb/search.py:_facets",
            "kb/search.py:as_at_notes",
            "kb/records.py:from_dict",
        ),
        "kb/search.py:run_search",
    ),
    Rule(SHAPING, "kb/records.py:to_json", VIEW),
    Rule(SHAPING, "kb/web/resources.py:passage_url", "kb/web/resources.py:search"),
    # the response
    Rule(JSON, "flask/json/__init__.py:jsonify", "kb/web/headers.py:json_with_etag"),
    Rule(ETAG, "json/__init__.py:dumps", "kb/web/headers.py:json_with_etag"),
    Rule(ETAG, ":openssl_sha256", "kb/web/headers.py:json_with_etag"),
    Rule(ETAG, "werkzeug/sansio/response.py:set_etag", "kb/web/headers.py:json_with_etag"),
]


# --- cProfile --------------------------------------------------------------------------------

Key = tuple[str, int, str]  # cProfile's (file, first line, function name)


def _function(key: Key) -> tuple[str, str]:
    return key[0], key[2]


def _owner(key: Key, stats: dict) -> Key:
    """The function a comprehension is written in (the one calling it); else the function."""
    seen = set()
    while key[2] in COMPREHENSIONS and key not in seen:
        seen.add(key)
        callers = stats.get(key, (0, 0, 0, 0, {}))[4]
        if not callers:
            break
        key = next(iter(callers))
    return key


def rule_for(callee: tuple[str, str], caller: tuple[str, str] | None) -> Rule | None:
    return next((rule for rule in RULES if rule.matches(callee, caller)), None)


def edge_stages(stats: dict, root: str) -> dict[str, float]:
    """Seconds per stage in one cProfile run (Profile.stats) whose every call is inside the
    function `root` ("path part:name"), which is the total; Flask's share is the total less
    VIEW's time when VIEW ran, and "other" what no rule (nor Flask) took."""
    times: dict[str, float] = defaultdict(float)
    total = view = 0.0
    for key, (_, _, _, cumulative, callers) in stats.items():
        function = _function(key)
        if _named(root, function):
            total += cumulative
        if _named(VIEW, function):
            view += cumulative
        for caller_key, edge in callers.items():
            if caller_key == key:  # a recursive call: inside the outer call's time already
                continue
            rule = rule_for(function, _function(_owner(caller_key, stats)))
            if rule is not None:
                times[rule.stage] += edge[3]
    return _close(times, total, view)


def _close(times: dict[str, float], total: float, view: float) -> dict[str, float]:
    if view:
        times[FLASK] += total - view
    times[OTHER] = total - sum(times.values())
    return {stage: times.get(stage, 0.0) for stage in STAGES} | {"total": total}


# --- sampled stacks (py-spy's collapsed format) ----------------------------------------------

_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def parse_frame(text: str) -> tuple[str, str]:
    """'WhooshEngine.search (indexer/index/whoosh_engine.py:417)' -> (file, 'search'), as
    cProfile names it (py-spy gives qualified names)."""
    found = _FRAME.match(text.strip())
    if not found:
        return "", text.strip()
    return found["file"], found["name"].rsplit(".", 1)[-1]


def stack_stage(frames: list[tuple[str, str]], root: str, flask: bool = False) -> str | None:
    """The stage of one sampled stack (root first), None if it is not inside `root`; `flask`:
    the root is a request, so what is outside VIEW is Flask's."""
    start = next((i for i, f in enumerate(frames) if _named(root, f)), None)
    if start is None:
        return None
    caller = frames[start]
    for frame in frames[start + 1 :]:
        rule = rule_for(frame, caller)
        if rule is not None:
            return rule.stage
        if frame[1] not in COMPREHENSIONS:
            caller = frame
    if flask and not any(_named(VIEW, f) for f in frames[start:]):
        return FLASK
    return OTHER


def sampled_stages(collapsed: Iterable[str], root: str, flask: bool = False) -> dict[str, float]:
    """Samples per stage (and "total") from collapsed stacks ('a (f:1);b (g:2) 12' lines)."""
    counts: dict[str, float] = defaultdict(float)
    for line in collapsed:
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if not stack or not n.isdigit():
            continue
        stage = stack_stage([parse_frame(f) for f in stack.split(";")], root, flask)
        if stage is not None:
            counts[stage] += int(n)
            counts["total"] += int(n)
    return {stage: counts.get(stage, 0.0) for stage in (*STAGES, "total")}


# --- splitting one function's passes by call site --------------------------------------------


def ranked_pass(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def strict_check(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


@dataclass(frozen=True)
class Site:
    caller: str  # the calling function's name
    line: re.Pattern  # searched in the calling line's source text
    through: Callable


# The all-words check is the call whose line names `strict` (Whoosh's in search(), tantivy's
# in _run()); the ranked pass is the other call there (Whoosh's in _ranked()).
SITES = (
    Site("search", re.compile(r"\bstrict\b"), strict_check),
    Site("_run", re.compile(r"\bstrict\b"), strict_check),
    Site("_ranked", re.compile(""), ranked_pass),
    Site("_run", re.compile(""), ranked_pass),
)


def _dispatch(fn: Callable, args: tuple, kwargs: dict, depth: int) -> Any:
    frame = sys._getframe(depth)
    text = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    for site in SITES:
        if frame.f_code.co_name == site.caller and site.line.search(text):
            return site.through(fn, *args, **kwargs)
    return fn(*args, **kwargs)


class SplitSearcher:
    """A tantivy Searcher whose search() calls go through SITES; all else is the searcher's."""

    def __init__(self, searcher):
        self._searcher = searcher

    def search(self, *args: Any, **kwargs: Any) -> Any:
        return _dispatch(self._searcher.search, args, kwargs, 2)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._searcher, name)


def install_splits(engine) -> None:
    """Route an open engine's passes through SITES (in this process only)."""
    from indexer.index import whoosh_engine

    if type(engine).__name__ == "TantivyEngine":
        if not isinstance(engine._searcher, SplitSearcher):
            engine._searcher = SplitSearcher(engine._searcher)
        return
    top = whoosh_engine._top
    if getattr(top, "split", False):
        return

    def split_top(*args: Any, **kwargs: Any) -> Any:
        return _dispatch(top, args, kwargs, 2)

    split_top.split = True  # type: ignore[attr-defined]
    whoosh_engine._top = split_top


def is_view(function: tuple[str, str]) -> bool:
    """Whether a (file, name) is VIEW, the Flask view of /api/v1/search."""
    return _named(VIEW, function)
