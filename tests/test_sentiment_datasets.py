"""The corpus readers on the shared datasets; skipped when ../shared/datasets is absent (a fresh clone).

Scores on public test splits are reported by benchmarks/quality.py and never gate the tests: a test that
fails below a test-set score invites tuning to that test set."""

from pathlib import Path

import pytest

from classifiers.sentiment import corpora

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"shared datasets not found at {DATA}")


def test_readers_map_labels_and_drop_potts_mixed():
    potts = corpora.read_potts(DATA, "test")
    assert len(potts) == 1529 and set(potts.labels) == {"negative", "neutral", "positive"}
    assert not any("&amp;" in text for text in corpora.read_sb10k(DATA, "test").texts)
