from datetime import UTC, datetime

from sqlalchemy import func, select

from classifiers.language import LanguageDetector
from monitor.collectors import Page
from monitor.ingest.classify import classify_pending
from monitor.ingest.pipeline import IngestContext, collect_query, ingest
from monitor.ingest.records import InvalidRecord, PostRecord
from storage import queries
from storage.models import Classification, CollectionRun, ModelVersion, Post

CONTEXT = IngestContext(topic="t", detector=LanguageDetector(), salt="salt", keywords=("weights",))


def record(i: int, text: str = "OpenAI should release the weights, honestly", author: str = "alice") -> PostRecord:
    return PostRecord(source="fake", source_id=str(i), text=text, created_at=datetime(2025, 8, 5, tzinfo=UTC),
                      author=author, raw={"id": i, "username": author, "text": text})


class FakeCollector:
    """Serves fixed pages; can fail after a given page, like a process killed mid-run."""

    name = "fake"
    filter_by_keywords = True

    def __init__(self, pages, fail_after=None):
        self.pages, self.fail_after, self.seen_cursors = pages, fail_after, []

    def queries(self):
        return ["q"]

    def fetch(self, query, cursor, window):
        self.seen_cursors.append(cursor)
        start = cursor["page"] if cursor else 0
        for index in range(start, len(self.pages)):
            if self.fail_after is not None and index == self.fail_after:
                raise ConnectionError("killed")
            yield Page(items=self.pages[index], cursor={"page": index + 1})

    def to_post(self, raw):
        if "text" not in raw:
            raise InvalidRecord("text: missing")
        return record(raw["id"], raw["text"])


def test_ingest_normalises_detects_language_and_pseudonymises(sessions):
    with sessions.begin() as session:
        ids = ingest(session, [record(1, "Endlich  Open&amp;Weights   von OpenAI, gut so!")], CONTEXT)
    with sessions() as session:
        post = session.get(Post, ids[0])
        assert post.text == "Endlich Open&Weights von OpenAI, gut so!"
        assert post.lang == "de"
        assert post.author.startswith("a_") and "alice" not in post.author
        assert post.raw["username"] == post.author  # the raw payload is scrubbed too
        assert "alice" not in str(post.raw)


def test_ingest_twice_adds_nothing(sessions):
    for _ in range(2):
        with sessions.begin() as session:
            ingest(session, [record(1), record(2), record(1)], CONTEXT)
    with sessions() as session:
        assert queries.count_posts(session) == 2


def test_collect_records_bad_items_and_keeps_the_good_ones(sessions):
    pages = [[{"id": 1, "text": "release the weights"}, {"id": 2}, {"id": 3, "text": "tennis, nothing else"}]]
    summary = collect_query(sessions, FakeCollector(pages), "q", CONTEXT)
    assert (summary.fetched, summary.new, summary.rejected, summary.skipped) == (3, 1, 1, 1)
    assert summary.errors[0].reason == "text: missing"
    with sessions() as session:
        run = session.scalar(select(CollectionRun))
        assert (run.status, run.fetched, run.new, run.rejected) == ("ok", 3, 1, 1)


def test_killed_run_keeps_committed_pages_and_resumes_from_the_cursor(sessions):
    pages = [[{"id": i * 10 + j, "text": f"weights {i} {j}"} for j in range(3)] for i in range(4)]
    crashed = collect_query(sessions, FakeCollector(pages, fail_after=2), "q", CONTEXT)
    assert crashed.status == "failed" and "killed" in crashed.error
    with sessions() as session:
        assert queries.count_posts(session) == 6
        assert queries.get_cursor(session, "fake", "q") == {"page": 2}
    with sessions.begin() as session:  # as if the process had been killed before recording the failure
        session.get(CollectionRun, crashed.run_id).status = "running"
    resumed_collector = FakeCollector(pages)
    resumed = collect_query(sessions, resumed_collector, "q", CONTEXT)
    assert resumed_collector.seen_cursors == [{"page": 2}]
    assert (resumed.status, resumed.new) == ("ok", 6)
    again = collect_query(sessions, FakeCollector(pages), "q", CONTEXT)
    assert again.new == 0
    with sessions() as session:
        assert session.get(CollectionRun, crashed.run_id).status == "abandoned"
    with sessions() as session:
        assert queries.count_posts(session) == 12


class KeywordClassifier:
    """A deterministic stand-in for the topic model in pipeline tests: the pipeline, not the model, is tested."""

    name = "kw-1"

    def classify(self, texts, langs, embeddings=None, known_sentiments=None):
        from classifiers.labels import PostLabels

        return [
            PostLabels(relevant="weights" in t, relevance_score=0.9, stance="pro_open",
                       stance_proba={"pro_open": 0.8, "pro_closed": 0.1, "neutral": 0.1},
                       aspects=frozenset({"local_ai"}), safety_concern=False, sentiment="positive",
                       sentiment_score=0.5, sentiment_model="test")
            for t in texts
        ]


class _Scorers:
    scorer_names = {"en": "kw-sentiment"}


class EncodingClassifier(KeywordClassifier):
    """Reads embeddings and reports which texts it had to encode and which sentiments it was handed."""

    encoder_name = "fake-encoder"
    sentiment = _Scorers()

    def __init__(self):
        self.encoded, self.seen_embeddings, self.known = [], [], []

    def embed(self, texts):
        import numpy as np

        self.encoded += list(texts)
        return np.array([[len(t)] + [0.0] * 511 for t in texts], dtype=np.float32)

    def classify(self, texts, langs, embeddings=None, known_sentiments=None):
        from dataclasses import replace

        self.seen_embeddings += [float(v[0]) for v in embeddings]
        self.known += list(known_sentiments)
        return [replace(label, sentiment_model="kw-sentiment") for label in super().classify(texts, langs)]


def test_embeddings_are_stored_once_and_sentiment_is_reused_by_the_next_version(sessions):
    from storage.models import PostEmbedding

    with sessions.begin() as session:
        ingest(session, [record(i, f"weights {'x' * i}") for i in range(5)], CONTEXT)
        first, second = (ModelVersion(name=n, created_at=queries.utcnow(), artefact="none") for n in ("v1", "v2"))
        session.add_all([first, second])
        session.flush()
        ids = first.id, second.id
    one = EncodingClassifier()
    assert classify_pending(sessions, one, ids[0], batch_size=2) == 5
    assert len(one.encoded) == 5 and one.known == [None] * 5
    two = EncodingClassifier()
    assert classify_pending(sessions, two, ids[1]) == 5
    assert two.encoded == []  # the second version reads what the first stored
    # Texts are normalised before storing ("weights " loses its trailing space): lengths 7, 9, 10, 11, 12.
    assert sorted(two.seen_embeddings) == sorted(one.seen_embeddings) == [7.0, 9.0, 10.0, 11.0, 12.0]
    assert all(k is not None and k.label == "positive" and k.scorer == "kw-sentiment" for k in two.known)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PostEmbedding)) == 5


def test_classify_pending_only_adds_missing_classifications(sessions):
    with sessions.begin() as session:
        ingest(session, [record(i, f"weights {i}") for i in range(7)], CONTEXT)
        version = ModelVersion(name="kw-1", created_at=queries.utcnow(), artefact="none")
        session.add(version)
        session.flush()
        version_id = version.id
    batches = []
    assert classify_pending(sessions, KeywordClassifier(), version_id, batch_size=3, on_batch=batches.append) == 7
    assert batches == [3, 3, 1]
    assert classify_pending(sessions, KeywordClassifier(), version_id) == 0
    with sessions() as session:
        rows = session.scalars(select(Classification)).all()
        assert len(rows) == 7
        assert all(r.local_ai and not r.safety and r.sentiment == "positive" for r in rows)


def test_the_source_setting_overrides_the_collectors_keyword_filter(sessions):
    from dataclasses import replace

    pages = [[{"id": 1, "text": "release the weights"}, {"id": 3, "text": "tennis, nothing else"}]]
    kept_all = collect_query(sessions, FakeCollector(pages), "q", replace(CONTEXT, keyword_filters={"fake": False}))
    assert (kept_all.new, kept_all.skipped) == (2, 0)


def test_what_the_keyword_filter_drops_is_recorded_on_the_run(sessions):
    pages = [[{"id": 1, "text": "release the weights"}, {"id": 3, "text": "tennis, nothing else"}]]
    collect_query(sessions, FakeCollector(pages), "q", CONTEXT)
    with sessions() as session:
        assert session.scalar(select(CollectionRun.skipped)) == 1


def test_settings_read_keyword_filter_retention_and_privacy(tmp_path):
    from monitor.config import load_settings

    path = tmp_path / "stance.toml"
    path.write_text('[sources.rss]\nkeyword_filter = false\nretention_days = 7\n[sources.x]\nkeyword_filter = true\n'
                    '[retention]\ndays = 30\n[privacy]\naggregate_only = []\nmask_mentions = true\n')
    settings = load_settings(path, {})
    assert settings.keyword_filters() == {"rss": False, "x": True}
    assert settings.retention()["rss"] == 7 and settings.retention()["x"] == 30
    assert settings.aggregate_only == () and settings.mask_mentions
    assert load_settings(None, {}).aggregate_only == ("x",)


def test_a_scheduled_collection_reports_what_the_keyword_filter_dropped():
    from monitor.ingest.pipeline import RunSummary
    from monitor.scheduling.runners import summarise_collection

    result = summarise_collection("rss", [RunSummary("rss", "feed", fetched=5, new=3, skipped=2)])
    assert result.data["skipped"] == 2 and "2 off-topic skipped" in result.detail


def test_an_upgraded_shipped_model_replaces_the_earlier_shipped_one_but_not_a_users(tmp_path):
    from classifiers import DEFAULT_STANCE_ARTEFACT
    from classifiers.artefacts import read_metadata
    from monitor import active_model
    from storage.engine import open_database

    shipped = read_metadata(DEFAULT_STANCE_ARTEFACT)
    engine, sessions = open_database(f"sqlite:///{tmp_path}/m.db")
    with sessions.begin() as session:  # what an earlier release of the package registered
        earlier = ModelVersion(name="stance-default-earlier", kind="stance", created_at=queries.utcnow(),
                               artefact=active_model.BUILTIN_PREFIX + "stance_default", artefact_sha256="0" * 64)
        session.add(earlier)
        session.flush()
        queries.activate_model_version(session, earlier)
    with sessions.begin() as session:
        active = active_model.ensure_active_model(session)
        assert (active.name, active.artefact_sha256) == (shipped["name"], shipped["sha256"])
    with sessions.begin() as session:  # the same shipped model re-measured by a newer release
        active = active_model.ensure_active_model(session)
        active.metrics = {"stance_confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}
    with sessions.begin() as session:
        active = active_model.ensure_active_model(session)
        assert active.name == shipped["name"] and active.metrics == shipped["metrics"]
    with sessions.begin() as session:  # a model the user trained and activated is kept
        own = ModelVersion(name="stance-20261206-mine", kind="stance", created_at=queries.utcnow(),
                           artefact=str(tmp_path / "mine"), artefact_sha256="1" * 64)
        session.add(own)
        session.flush()
        queries.activate_model_version(session, own)
    with sessions.begin() as session:
        assert active_model.ensure_active_model(session).name == "stance-20261206-mine"
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == 3
    engine.dispose()
