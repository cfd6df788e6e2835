"""The rollup table equals a recomputation from posts and classifications after every kind of write."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete, select, update

from reports.aggregate import Scope, count_cube, scan_cube
from storage import queries
from storage.deletion import delete_posts
from storage.models import Classification, ModelVersion, Post

START = datetime(2025, 3, 1, 22, tzinfo=UTC)


def _version(session, name: str) -> int:
    version = ModelVersion(name=name, kind="stance", created_at=START, artefact="-", metrics={}, params={})
    session.add(version)
    session.flush()
    return version.id


def _posts(session, n: int, offset: int = 0) -> list[int]:
    rows = [{
        "source": ("x", "mastodon", "bluesky")[i % 3], "source_id": str(i), "topic": "t", "text": f"post {i}",
        "lang": (None, "de", "en", "en")[i % 4], "lang_confidence": 0.9,
        "created_at": START + timedelta(hours=7 * i), "author": None,
        "url": "https://demo.stance-monitor.invalid/1" if i % 5 == 0 else None,
        "metrics": {}, "raw": None, "content_hash": str(i), "collected_at": START,
    } for i in range(offset, offset + n)]
    return queries.insert_posts(session, rows)


def _classifications(post_ids: list[int], version_id: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for post_id in post_ids:
        p = [rng.random() for _ in range(3)]
        total = sum(p)
        rows.append({
            "post_id": post_id, "model_version_id": version_id, "relevant": rng.random() < 0.7,
            "relevance_score": rng.random(), "stance": rng.choice(["pro_open", "pro_closed", "neutral"]),
            "p_pro_open": p[0] / total, "p_pro_closed": p[1] / total, "p_neutral": p[2] / total,
            "safety": rng.random() < 0.3, "competition": rng.random() < 0.3, "governance": rng.random() < 0.3,
            "local_ai": rng.random() < 0.3, "safety_concern": rng.random() < 0.2,
            "sentiment": None, "sentiment_score": None if rng.random() < 0.2 else rng.uniform(-1, 1),
            "sentiment_model": "s", "classified_at": START,
        })
    return rows


def _assert_rollup_matches_scan(session, version_ids) -> None:
    for version_id in version_ids:
        for scope in (Scope(version_id), Scope(version_id, START.date() + timedelta(days=3),
                                               START.date() + timedelta(days=20), ("en", "und"), ("x", "bluesky"))):
            rolled, scanned = count_cube(session, scope), scan_cube(session, scope)

            def keyed(cube):
                keys = zip(cube.days.astype(str), cube.langs, cube.sources, cube.kinds)
                return {k: v for k, v in zip(keys, cube.values.tolist())}

            rolled_rows, scanned_rows = keyed(rolled), keyed(scanned)
            assert rolled_rows.keys() == scanned_rows.keys()
            for key, values in scanned_rows.items():
                np.testing.assert_allclose(rolled_rows[key], values, rtol=1e-9, atol=1e-9)


def test_rollup_equals_recomputation_after_inserts_rescoring_and_deletions(sessions):
    with sessions.begin() as session:
        first, second = _version(session, "v1"), _version(session, "v2")
        ids = _posts(session, 300)
        queries.insert_classifications(session, _classifications(ids, first, seed=1))
        queries.insert_classifications(session, _classifications(ids[:200], second, seed=2))
        # A classification already stored is not inserted again and must not be counted twice.
        queries.insert_classifications(session, _classifications(ids[:50], first, seed=3))
    with sessions() as session:
        _assert_rollup_matches_scan(session, [first, second])
        assert count_cube(session, Scope(first)).values[:, 0].sum() == 300

    with sessions.begin() as session:  # re-scoring: a version's classifications dropped and written again
        session.execute(delete(Classification).where(Classification.model_version_id == second))
        queries.insert_classifications(session, _classifications(ids, second, seed=4))
        session.execute(update(Classification).where(Classification.post_id.in_(ids[:40]))
                        .values(relevant=False, sentiment_score=0.5))
    with sessions() as session:
        _assert_rollup_matches_scan(session, [first, second])

    with sessions.begin() as session:  # deletions: purged posts (cascading) and more posts arriving later
        source_ids = session.scalars(select(Post.source_id).where(Post.source == "x").limit(60)).all()
        assert delete_posts(session, "x", source_ids, action="purge", reason="test").deleted == 60
        session.execute(delete(Post).where(Post.id.in_(ids[250:260])))
        late = _posts(session, 30, offset=1000)
        queries.insert_classifications(session, _classifications(late, first, seed=5))
    with sessions() as session:
        _assert_rollup_matches_scan(session, [first, second])
        assert count_cube(session, Scope(first)).values[:, 0].sum() == queries.count_posts(session) < 300 - 60 + 30

    with sessions.begin() as session:  # a model version deleted takes its rollup rows with it
        session.execute(delete(ModelVersion).where(ModelVersion.id == second))
    with sessions() as session:
        assert count_cube(session, Scope(second)).empty
        _assert_rollup_matches_scan(session, [first])


def test_a_large_scope_is_sampled_by_probing_evenly_spaced_ids(sessions, monkeypatch):
    """Where the scope holds many more relevant posts than the sample needs, the sample probes ids through
    the primary key (its cost does not grow with the corpus) and still keeps to the scope."""
    from reports import sample

    monkeypatch.setattr(sample, "SAMPLE_SIZE", 20)
    with sessions.begin() as session:
        version = _version(session, "v1")
        ids = _posts(session, 300)
        queries.insert_classifications(session, _classifications(ids, version, seed=7))
    with sessions() as session:
        scope = Scope(version, langs=("en",))
        relevant = int(count_cube(session, scope).total()["relevant"])
        assert sample._probe_ids(session, scope, relevant) is not None
        drawn = sample.sample_posts(session, scope, relevant)
    assert 10 <= len(drawn) <= 40 and {p.lang for p in drawn} == {"en"}
    assert len({p.text for p in drawn}) == len(drawn)
