"""Shared fixtures: the sample corpus indexed by each search engine, in a temporary KB_HOME.

`sample_settings`, `sample_kb`, `app` and `client` follow the session-scoped, parametrised
`engine` fixture, so every test that asks for one of them runs once per engine
(`test_x[whoosh]`, `test_x[tantivy]`). Each engine's index is built once per session, the first
time a test needs it. A test about one engine, or comparing the two, asks for `whoosh_kb` /
`tantivy_kb` instead, which are not parametrised.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.index.build import build
from indexer.index.engine import ENGINES, Engine, open_engine, writer_for
from kb.core.config import PROJECT_ROOT, Settings
from kb.service import KnowledgeBase
from kb.web import create_app

SAMPLES = PROJECT_ROOT / "corpus" / "samples"
SHARED = PROJECT_ROOT.parent / "shared"
LEGISLATION_RESPONSES = SHARED / "reference" / "legislation-gov-uk" / "responses"


def generated_engine(tmp_path_factory, engine: str, passages: int = 1500) -> Engine:
    """An index of `passages` generated passages (bench/corpus.py) written and opened with
    `engine`; the caller closes it."""
    from bench.corpus import generate

    path = tmp_path_factory.mktemp(f"generated-{engine}") / "engine"
    _, written = generate(passages)
    writer_for(engine)(path, written)
    return open_engine(engine, path)


def make_settings(tmp: Path, corpus: Path | None = None) -> Settings:
    settings = Settings()
    settings.home = tmp / "home"
    settings.corpus = corpus or SAMPLES
    settings.crawl_delay = 0.0
    return settings


class SampleIndexes:
    """corpus/samples indexed by each engine, each built (and opened) at most once."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory):
        self._tmp = tmp_path_factory
        self._settings: dict[str, Settings] = {}
        self._kbs: dict[str, KnowledgeBase] = {}

    def settings(self, engine: str) -> Settings:
        if engine not in self._settings:
            settings = make_settings(self._tmp.mktemp(f"kb-{engine}"))
            settings.engine = engine
            build(settings, progress=False)
            self._settings[engine] = settings
        return self._settings[engine]

    def kb(self, engine: str) -> KnowledgeBase:
        if engine not in self._kbs:
            self._kbs[engine] = KnowledgeBase(self.settings(engine), check_interval=0)
        return self._kbs[engine]

    def close(self) -> None:
        for kb in self._kbs.values():
            kb.close()


@pytest.fixture(scope="session")
def sample_indexes(tmp_path_factory):
    indexes = SampleIndexes(tmp_path_factory)
    yield indexes
    indexes.close()


@pytest.fixture(scope="session", params=list(ENGINES), ids=list(ENGINES))
def engine(request) -> str:
    """The search engine under test: each test using it (or what follows it) runs per engine."""
    return request.param


@pytest.fixture(scope="session")
def sample_settings(engine, sample_indexes) -> Settings:
    return sample_indexes.settings(engine)


@pytest.fixture(scope="session")
def sample_kb(engine, sample_indexes) -> KnowledgeBase:
    return sample_indexes.kb(engine)


@pytest.fixture(scope="session")
def whoosh_kb(sample_indexes) -> KnowledgeBase:
    """The sample corpus in Whoosh, for tests of Whoosh itself or comparisons with it."""
    return sample_indexes.kb("whoosh")


@pytest.fixture(scope="session")
def tantivy_kb(sample_indexes) -> KnowledgeBase:
    """The sample corpus in tantivy, for tests of tantivy itself or comparisons with Whoosh."""
    return sample_indexes.kb("tantivy")


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
    """Build what write_md wrote and open it: tmp_kb(engine="whoosh") -> a KnowledgeBase.

    A test that asks for the `engine` fixture too and passes it here runs once per engine."""
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
