"""The benchmark scripts' own helpers: official metrics, dataset readers, the challenge set, resampling and the
anchor file format (the numbers they print are judged in benchmarks/, never here)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from classifiers.labels import ASPECTS, STANCES
from classifiers.training import load_seed_set, load_training_data

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


def _benchmark(name: str = "quality"):
    # The benchmark scripts import each other as top-level modules (intervals.py imports quality).
    if str(PROJECT_ROOT / "benchmarks") not in sys.path:
        sys.path.append(str(PROJECT_ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", PROJECT_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_f_avg_is_the_official_metric():
    benchmark = _benchmark("public_benchmarks")
    gold = ["FAVOR", "AGAINST", "NONE", "AGAINST"]
    assert benchmark.f_avg(gold, gold) == 100.0
    # NONE only counts through the two classes' errors: F_FAVOR = 2/3 (p 1/2, r 1), F_AGAINST = 1.
    assert benchmark.f_avg(gold, ["FAVOR", "AGAINST", "FAVOR", "AGAINST"]) == pytest.approx(100 * (2 / 3 + 1) / 2)


def test_semeval_reader_on_shared_data():
    if not (SHARED_DATASETS / "semeval2016-stance").exists():
        pytest.skip(f"SemEval-2016 data not found under {SHARED_DATASETS} (only in the shared workspace)")
    benchmark = _benchmark("public_benchmarks")
    train = benchmark.read_semeval2016(SHARED_DATASETS, "train")
    test = benchmark.read_semeval2016(SHARED_DATASETS, "test")
    assert (len(train), len(test)) == (2914, 1249)  # counts in the dataset's SOURCE.md
    assert {label for _, _, label in test} == {"FAVOR", "AGAINST", "NONE"}
    assert sum(label == "AGAINST" for _, _, label in test) == 715
    assert len({target for target, _, _ in train}) == 5
    assert not any("#SemST" in text for _, text, _ in train + test)


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def test_challenge_posts_cover_every_stance_in_both_languages_and_are_not_training_posts():
    challenge = _benchmark().read_challenge()
    for lang in ("en", "de"):
        relevant = [x for x in challenge if x["lang"] == lang and x["relevant"]]
        assert {x["stance"] for x in relevant} == set(STANCES), lang
        assert any(x["safety_concern"] for x in relevant), lang
        assert any("plain" not in x["tags"] for x in challenge if x["lang"] == lang), lang
    seed_texts = {_normalised(x["text"]) for x in load_seed_set()}
    assert not seed_texts & {_normalised(x["text"]) for x in challenge}
    assert len({x["id"] for x in challenge}) == len(challenge)


def test_a_bad_challenge_row_is_named_by_file_line_and_field(tmp_path):
    good = {"id": "c-1", "lang": "en", "text": "Release the weights.", "relevant": True, "stance": "pro_open",
            "aspects": [], "safety_concern": False, "sentiment": "neutral", "tags": ["plain"]}
    rows = [good, {**good, "id": "c-2", "stance": "pro-open"}]
    (tmp_path / "en.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^en\.jsonl:2: stance"):
        _benchmark().read_challenge(tmp_path)
    rows[1] = {**good, "id": "c-2", "sentiment": None}
    (tmp_path / "en.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^en\.jsonl:2: sentiment"):
        _benchmark().read_challenge(tmp_path)


def test_the_challenge_second_annotation_labels_every_challenge_post_once_and_holds_no_text():
    module = _benchmark()
    challenge = {x["id"] for x in module.read_challenge()}
    rows = [json.loads(line) for line in (module.CHALLENGE_DIR / module.CHALLENGE_SECOND).read_text().splitlines()]
    assert sorted(row["id"] for row in rows) == sorted(challenge)
    for row in rows:
        assert set(row) == {"id", "relevant", "stance", "aspects", "safety_concern", "sentiment"}
        assert row["stance"] in STANCES and set(row["aspects"]) <= set(ASPECTS)
        assert row["relevant"] or (row["stance"] == "neutral" and not row["safety_concern"])


def test_group_bootstrap_resamples_whole_groups():
    intervals = _benchmark("intervals")
    # Two pages, each all right or all wrong: every resample is one of the three mixes of whole pages, so
    # the accuracy of a resample is 0, 1/2 or 1 and never the 1/3 or 2/3 that resampling posts would give.
    xs = [{"id": str(i), "group": "a" if i < 3 else "b", "relevant": True} for i in range(6)]
    ys = [i < 3 for i in range(6)]
    values = intervals.group_bootstrap(xs, ys, lambda xs, ys: float(np.mean(ys)), resamples=200)
    assert set(np.round(values, 3)) == {0.0, 0.5, 1.0}
    line = intervals.interval_line("accuracy", 0.75, 0.5, values)
    assert "95% interval 0.000-1.000" in line and "met on" in line


def test_f1_at_share_matches_counts():
    intervals = _benchmark("intervals")
    # 100 posts, 40 positive: TPR 0.75 finds 30, FPR 0.1 flags 6 of the 60 others -> P 30/36, R 0.75.
    expected = 2 * (30 / 36) * 0.75 / (30 / 36 + 0.75)
    assert intervals.f1_at_share(0.75, 0.1, 0.4) == pytest.approx(expected)
    assert intervals.f1_at_share(0.0, 0.2, 0.5) == 0.0
    # The same classifier scores a higher F1 where more of the posts are relevant.
    assert intervals.f1_at_share(0.75, 0.1, 0.7) > intervals.f1_at_share(0.75, 0.1, 0.4)


def test_relevant_stance_f1_ignores_off_topic_examples():
    quality = _benchmark("quality")
    examples = [{"relevant": True, "stance": "pro_open"}, {"relevant": True, "stance": "neutral"},
                {"relevant": False, "stance": "neutral"}, {"relevant": False, "stance": "neutral"}]
    # The two off-topic examples are called pro_open: that counts over all examples, not among relevant ones.
    assert quality.relevant_stance_f1(examples, ["pro_open", "neutral", "pro_open", "pro_open"]) == 1.0
    assert quality.relevant_stance_f1(examples, ["neutral", "neutral", "neutral", "neutral"]) == pytest.approx(1 / 3)
    assert quality.relevant_stance_f1(examples, [None, "neutral", None, None]) == pytest.approx(1 / 3)


def test_anchor_scores_a_prediction_file_against_the_held_out_gold(tmp_path):
    if not (SHARED_DATASETS / "web-debate").exists():
        pytest.skip(f"shared datasets not found under {SHARED_DATASETS} (only in the shared workspace)")
    anchor = _benchmark("anchor")
    held_out = load_training_data(SHARED_DATASETS).held_out
    dumped = tmp_path / "held_out.jsonl"
    assert anchor.dump(dumped, SHARED_DATASETS) == len(held_out)
    assert {json.loads(line)["id"] for line in dumped.open()} == {x["id"] for x in held_out}
    # A file that predicts the gold labels scores 1 on every metric, whatever the shipped model scores.
    perfect = tmp_path / "perfect.jsonl"
    with perfect.open("w") as handle:
        for x in held_out:
            stance = x["stance"] if x["relevant"] else "neutral"
            handle.write(json.dumps({"id": x["id"], "relevant": x["relevant"], "stance": stance,
                                     "safety_concern": bool(x["relevant"] and x.get("safety_concern")),
                                     "sentiment": x.get("sentiment")}) + "\n")
    lines = anchor.score(perfect, SHARED_DATASETS)
    rows = [line.split() for line in lines if "F1" in line or "accuracy" in line or "recall" in line]
    assert rows and all(float(row[-2]) == 1.0 for row in rows)
    assert {float(line.split()[-2]) for line in lines if "false-positive rate" in line} == {0.0}
    # A file missing held-out posts is refused with the first missing id, not scored on fewer posts.
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(perfect.open().readlines()[1:]))
    with pytest.raises(SystemExit, match=held_out[0]["id"]):
        anchor.score(partial, SHARED_DATASETS)


def test_sentiment_fold_rules_put_the_offsets_where_they_belong():
    folds = _benchmark("sentiment_folds")
    # Neutral leads by 0.3 in both rows: an offset of +0.5 on positive flips only the rows it is added to.
    decision = np.array([[0.0, 0.3, 0.0], [0.0, 0.3, 0.0]])
    texts = ["short", "x" * 200]
    offsets = np.array([0.0, 0.0, 0.5])
    assert list(folds.rule_labels(decision, texts, offsets, None)) == ["positive", "positive"]
    assert list(folds.rule_labels(decision, texts, offsets, 160)) == ["positive", "neutral"]
    assert list(folds.rule_labels(decision, texts, np.zeros(3), 160, long_offsets=offsets)) == ["neutral", "positive"]


def test_nested_long_text_offsets_never_read_the_fold_they_are_applied_to():
    folds = _benchmark("sentiment_folds")
    labels = ["negative", "neutral", "positive"] * 20
    # Each row's decision favours its true class, but fold 0's positive rows lean neutral: only a positive
    # offset mends them, and only fold 0 needs one.
    decision = np.array([[1.0 if c == label else 0.0 for c in ("negative", "neutral", "positive")] for label in labels])
    decision[2:20:3, 1] += 1.2
    texts = ["x" * 200] * 60
    fold_of = np.repeat([0, 1, 2], 20)
    assert list(folds.nested_long_offsets(decision, texts, labels, fold_of, 1, np.zeros(3), 160)) == [0, 0, 0.3]
    assert list(folds.nested_long_offsets(decision, texts, labels, fold_of, 0, np.zeros(3), 160)) == [0, 0, 0]
    # Short texts are the shipped offsets' business: their rows are never tuned on.
    short = ["short"] * 20 + texts[20:]
    assert list(folds.nested_long_offsets(decision, short, labels, fold_of, 1, np.zeros(3), 160)) == [0, 0, 0]


def test_saved_fold_decisions_load_only_for_the_same_passages_and_folds(tmp_path):
    folds = _benchmark("sentiment_folds")
    passages = [{"id": f"web-{i}"} for i in range(4)]
    fold_of = np.array([0, 1, 0, 1])
    path = tmp_path / "decisions.npz"
    np.savez_compressed(path, ids=[x["id"] for x in passages], fold_of=fold_of,
                        **{"shipped|de|rows": np.array([0, 2]), "shipped|de|decision": np.ones((2, 3))})
    loaded = folds.load(path, passages, fold_of)
    assert list(loaded) == [("shipped", "de")] and list(loaded["shipped", "de"][0]) == [0, 2]
    with pytest.raises(SystemExit, match="other passages or folds"):
        folds.load(path, passages, np.array([1, 0, 1, 0]))
