"""Shared fixtures: a real Whoosh index built from the sample corpus in a temporary KB_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import build
from kb.config import PROJECT_ROOT, Settings
from kb.service import KnowledgeBase
from kb.web import create_app

SAMPLES = PROJECT_ROOT / "corpus" / "samples"
SHARED = PROJECT_ROOT.parent / "shared"


def make_settings(tmp: Path, corpus: Path | None = None) -> Settings:
    settings = Settings()
    settings.home = tmp / "home"
    settings.corpus = corpus or SAMPLES
    settings.crawl_delay = 0.0
    return settings


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("kb"))
    build(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def sample_kb(sample_settings):
    kb = KnowledgeBase(sample_settings, check_interval=0)
    yield kb
    kb.close()


@pytest.fixture(scope="session")
def app(sample_settings, sample_kb):
    app = create_app(sample_settings, kb=sample_kb)
    app.testing = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def write_md(tmp_path):
    """Write a corpus file: write_md('name.md', front_matter_dict_or_text, body)."""
    import yaml

    def write(name: str, meta, body: str = "", folder: Path | None = None) -> Path:
        folder = folder or tmp_path / "corpus"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        head = meta if isinstance(meta, str) else yaml.safe_dump(meta, sort_keys=False)
        path.write_text(f"---\n{head}---\n\n{body}", encoding="utf-8")
        return path

    return write


@pytest.fixture()
def tmp_kb(tmp_path):
    """Build what write_md wrote and open it: tmp_kb(engine="whoosh") -> a KnowledgeBase."""
    opened: list[KnowledgeBase] = []

    def open_kb(engine: str = "whoosh") -> KnowledgeBase:
        settings = make_settings(tmp_path, tmp_path / "corpus")
        settings.engine = engine
        build(settings, progress=False)
        opened.append(KnowledgeBase(settings, check_interval=0))
        return opened[-1]

    yield open_kb
    for kb in opened:
        kb.close()


def page_of(kb: KnowledgeBase, path: str) -> str:
    """The HTML the app serves at path, from kb."""
    return create_app(kb.settings, kb=kb).test_client().get(path).get_data(as_text=True)
