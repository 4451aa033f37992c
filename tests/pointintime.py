"""What the point-in-time tests share (test_versions_pit.py, test_versions_scoped.py): an
invented Act's legislation.gov.uk-shaped responses served from a fixtures folder over real
HTTP, and `kb crawl` run against that server for one manifest entry."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from kb.crawl_cli import crawl
from tests.test_http import Handler, LocalServer, ok


def serve_fixtures(
    server: LocalServer,
    folder: Path,
    routes: dict[str, str],
    overrides: dict[str, Handler] | None = None,
) -> None:
    """Each route (a URL path) answers with its file in folder, unless overridden."""
    server.route("/robots.txt", ok(b"User-agent: *\nAllow: /\n"))
    for path, name in routes.items():
        server.route(path, (overrides or {}).get(path) or ok((folder / name).read_bytes()))


def crawl_entry(tmp_path: Path, server: LocalServer, entry: str) -> tuple[Result, Path]:
    """`kb crawl` of a manifest holding this one source (a YAML flow mapping's inside:
    "id: …, kind: legislation, path: …"), from the server: (the result, the corpus folder)."""
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(f"sources:\n  - {{{entry}}}\n")
    out = tmp_path / "corpus"
    env = {
        "KB_HOME": str(tmp_path / "kb"),
        "KB_CRAWL_DELAY": "0",
        "KB_SOURCES": "",
        "KB_LEGISLATION_URL": server.url(""),
    }
    args = ["--sources", str(manifest), "--out", str(out)]
    return CliRunner().invoke(crawl, args, env=env, catch_exceptions=False), out
