"""`kb cite REF`: the canonical id, OSCOLA citation and URL of a citation string.

The lead registers `cite` on the main group. Through the click context object it may
inject `in_index` (a callable: passage id -> bool), `indexed` (passage id -> the indexed passage,
whose citation is then the one search shows), `registry` (a kb.core.cite.Registry, or a callable
returning one) and `legislation_url` (the base of the url field).
"""

from __future__ import annotations

import json
from typing import Any

import click

from kb.core.cite import DEFAULT_REGISTRY, LEGISLATION_URL, Registry, resolve, unresolved


def _obj(ctx: click.Context) -> dict[str, Any]:
    return ctx.obj if isinstance(ctx.obj, dict) else {}


def _registry(obj: dict[str, Any]) -> Registry:
    registry = obj.get("registry")
    if callable(registry) and not isinstance(registry, Registry):
        registry = registry()
    return registry or DEFAULT_REGISTRY


@click.command("cite")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the resolution as JSON.")
@click.pass_context
def cite(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Resolve a citation such as "s 3(2) LGA 1999" or a legislation.gov.uk URL."""
    obj = _obj(ctx)
    registry = _registry(obj)
    found = resolve(ref, registry)
    if found is None:
        body = unresolved(ref, registry)
        if as_json:
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        else:
            hint = ", ".join(c["title"] for c in body["candidates"])
            click.echo(body["message"] + (f" (did you mean: {hint}?)" if hint else ""), err=True)
        ctx.exit(1)
    lookup = obj.get("in_index")
    in_index = bool(lookup(found.id)) if callable(lookup) else False
    held = obj.get("indexed")
    indexed = held(found.id) if callable(held) and in_index else None
    data = found.to_dict(in_index, obj.get("legislation_url") or LEGISLATION_URL, indexed)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    where = "in the index" if in_index else "not in the index"
    click.echo(f"{data['citation']}  [{data['id']}]  {data['url'] or ''}  ({where})")
