"""`kb cite REF`: the canonical id, OSCOLA citation and URL of a citation string.

The lead registers `cite` on the main group, whose ctx.obj (kb.cli.CliState) is a CiteLookup:
the registry, which passages the index holds and the base of the url field. Run on its own,
or given a dict (tests inject `registry`, `in_index` or `indexed` that way), it falls back to
the built-in registry and holds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import click

from kb.core.cite import DEFAULT_REGISTRY, LEGISLATION_URL, Registry, resolve, unresolved


class CiteLookup(Protocol):
    legislation_url: str

    def registry(self) -> Registry | None: ...

    def in_index(self, passage_id: str) -> bool: ...

    def indexed(self, passage_id: str) -> dict[str, Any] | None: ...


@dataclass
class Injected:
    """A CiteLookup from a dict: `registry` (a Registry, or a callable returning one),
    `in_index` (passage id -> bool), `indexed` (passage id -> the indexed passage, whose
    citation is then the one search shows) and `legislation_url`, each optional."""

    given: dict[str, Any]

    @property
    def legislation_url(self) -> str:
        return self.given.get("legislation_url") or LEGISLATION_URL

    def registry(self) -> Registry | None:
        found = self.given.get("registry")
        return found() if callable(found) and not isinstance(found, Registry) else found

    def in_index(self, passage_id: str) -> bool:
        return bool(self._call("in_index", passage_id))

    def indexed(self, passage_id: str) -> dict[str, Any] | None:
        return self._call("indexed", passage_id)

    def _call(self, name: str, passage_id: str) -> Any:
        found: Callable[[str], Any] | None = self.given.get(name)
        return found(passage_id) if callable(found) else None


def _lookup(obj: Any) -> CiteLookup:
    if all(hasattr(obj, name) for name in ("registry", "in_index", "indexed", "legislation_url")):
        return obj
    return Injected(obj if isinstance(obj, dict) else {})


@click.command("cite")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the resolution as JSON.")
@click.pass_context
def cite(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Resolve a citation such as "s 3(2) LGA 1999" or a legislation.gov.uk URL."""
    lookup = _lookup(ctx.obj)
    registry = lookup.registry() or DEFAULT_REGISTRY
    found = resolve(ref, registry)
    if found is None:
        body = unresolved(ref, registry)
        if as_json:
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        else:
            hint = ", ".join(c["title"] for c in body["candidates"])
            click.echo(body["message"] + (f" (did you mean: {hint}?)" if hint else ""), err=True)
        ctx.exit(1)
    in_index = lookup.in_index(found.id)
    indexed = lookup.indexed(found.id) if in_index else None
    data = found.to_dict(in_index, lookup.legislation_url or LEGISLATION_URL, indexed)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    where = "in the index" if in_index else "not in the index"
    click.echo(f"{data['citation']}  [{data['id']}]  {data['url'] or ''}  ({where})")
