"""The layers (docs/architecture.md): each imports only itself and the layers before it.

    core     kb/core/         documents, passages, pins, citations, vocabularies, config
    indexer  indexer/         sources -> raw cache -> parsers -> corpus -> passages
    index    indexer/index/   the on-disk version format, the engines, the build
    app      kb/              search service, web pages, JSON API, CLI

Every import counts, including those inside functions: a lazy import that runs backwards
is still a dependency that runs backwards.
"""

from __future__ import annotations

import ast
from pathlib import Path

from kb.core.config import PROJECT_ROOT

LAYERS = ("core", "indexer", "index", "app")


def layer(module: str) -> str | None:
    """The layer of a project module, None for anything else (stdlib, third party)."""
    if module == "kb.core" or module.startswith("kb.core."):
        return "core"
    if module == "indexer.index" or module.startswith("indexer.index."):
        return "index"
    if module == "indexer" or module.startswith("indexer."):
        return "indexer"
    if module == "kb" or module.startswith("kb."):
        return "app"
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from kb.core import pins` imports kb.core.pins: judge the submodule's layer
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def project_files() -> list[Path]:
    return sorted(p for folder in ("kb", "indexer") for p in (PROJECT_ROOT / folder).rglob("*.py"))


def test_every_import_runs_forwards_through_the_layers():
    backwards = []
    for path in project_files():
        own = layer(module_name(path))
        for line, target in imports(path):
            theirs = layer(target)
            if theirs and LAYERS.index(theirs) > LAYERS.index(own):
                rel = path.relative_to(PROJECT_ROOT)
                backwards.append(f"{rel}:{line} ({own}) imports {target} ({theirs})")
    assert not backwards, "imports that run backwards:\n" + "\n".join(backwards)


def test_the_layers_are_all_there_and_every_module_is_in_one():
    seen = {layer(module_name(p)) for p in project_files()}
    assert seen == set(LAYERS)


def test_the_checker_catches_a_backwards_import(tmp_path):
    """The test above can fail: a core module importing the app is reported."""
    assert layer("kb.core.models") == "core" and layer("kb.service") == "app"
    assert layer("indexer.index.store") == "index" and layer("indexer.clml") == "indexer"
    assert layer("whoosh") is None
    bad = PROJECT_ROOT / "kb" / "core" / "_backwards_probe.py"
    bad.write_text("def f():\n    from kb.service import KnowledgeBase\n", encoding="utf-8")
    try:
        found = [t for _, t in imports(bad)]
        assert found == ["kb.service.KnowledgeBase"]
        assert LAYERS.index(layer(found[0])) > LAYERS.index(layer(module_name(bad)))
    finally:
        bad.unlink()


def test_architecture_doc_names_every_package_and_module():
    doc = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        str(p.relative_to(PROJECT_ROOT))
        for p in project_files()
        if p.name != "__init__.py" and p.stem not in doc
    ]
    assert not missing, f"docs/architecture.md does not mention: {missing}"


def test_no_engine_imports_another():
    """What the engines share lives above them (analysis, ranking, highlight, writing, plan):
    an engine importing another would make adding or removing one a change to the other."""
    folder = PROJECT_ROOT / "indexer" / "index"
    engines = {module_name(p) for p in folder.glob("*_engine.py")}
    assert {"indexer.index.whoosh_engine", "indexer.index.tantivy_engine"} <= engines
    crossing = [
        f"{module_name(path)}:{line} imports {target}"
        for path in folder.glob("*_engine.py")
        for line, target in imports(path)
        if any(
            target == other or target.startswith(other + ".")
            for other in engines - {module_name(path)}
        )
    ]
    assert not crossing, crossing


MAX_FUNCTION_LINES = 60  # issue #16; complexity (at most 15) is ruff's C901, in pyproject.toml


def long_functions(paths) -> list[str]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_in_the_service_or_indexer_is_too_long_to_hold_in_mind():
    assert not long_functions(project_files()), long_functions(project_files())


def test_the_length_check_catches_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "long.py"
    path.write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert long_functions([path]) == ["long.py:1 long (61 lines)"]
