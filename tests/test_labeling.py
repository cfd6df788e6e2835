"""Choosing posts to label, the key-driven labelling loop, the CSV round trip and agreement, on both databases."""

import csv
import math
from datetime import UTC, datetime

import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import func, select

from monitor.errors import MonitorError
from monitor.ingest.normalise import content_hash
from monitor.labeling import loop as labeling
from monitor.labeling import spreadsheet as labeling_csv
from monitor.labeling.loop import Label
from storage.models import Classification, HumanLabel, ModelVersion, Post

NOW = datetime(2025, 8, 6, tzinfo=UTC)


def add_version(session) -> int:
    version = ModelVersion(name="v1", kind="stance", created_at=NOW, artefact="-", metrics={}, params={}, active=True)
    session.add(version)
    session.flush()
    return version.id


def add_post(session, version_id, text, source="x", lang="en", month=8, relevance=0.9, proba=(0.9, 0.05, 0.05)):
    n = session.scalar(select(func.count(Post.id))) + 1
    post = Post(source=source, source_id=str(n), topic="t", text=text, lang=lang, author="secret-author",
                created_at=datetime(2025, month, 1 + n % 27, tzinfo=UTC), content_hash=content_hash(text),
                collected_at=NOW, metrics={})
    session.add(post)
    session.flush()
    stance = ("pro_open", "pro_closed", "neutral")[max(range(3), key=lambda i: proba[i])]
    session.add(Classification(post_id=post.id, model_version_id=version_id, relevant=relevance >= 0.5,
                               relevance_score=relevance, stance=stance, p_pro_open=proba[0], p_pro_closed=proba[1],
                               p_neutral=proba[2], classified_at=NOW))
    return post.id


UNSURE = {"relevance": 0.5}
SURE = {"relevance": 0.99, "proba": (0.98, 0.01, 0.01)}


def test_uncertainty_is_high_near_half_relevance_and_for_even_stance_splits():
    assert labeling.uncertainty(0.5, (0.98, 0.01, 0.01)) == pytest.approx(1.0)
    assert labeling.uncertainty(1.0, (1 / 3, 1 / 3, 1 / 3)) == pytest.approx(1.0)
    assert labeling.uncertainty(0.99, (0.98, 0.01, 0.01)) < 0.15
    # An even stance split hardly matters on a clearly off-topic post.
    assert labeling.uncertainty(0.02, (1 / 3, 1 / 3, 1 / 3)) < 0.1


def test_near_duplicate_key_ignores_case_punctuation_and_links():
    key = labeling.near_duplicate_key
    assert key("https://t.co/a1 OpenAI: release the WEIGHTS!") == key("openai release the weights https://t.co/b2")
    assert len(key("word " * 40)) == labeling.PREFIX_CHARS
    assert key("OpenAI should release the weights") != key("OpenAI should not release the weights")


def test_choice_prefers_uncertain_posts_spread_over_buckets(sessions):
    with sessions.begin() as session:
        version = add_version(session)
        unsure_x = [add_post(session, version, f"unsure x post number {i} about weights", **UNSURE) for i in range(5)]
        sure_x = add_post(session, version, "a sure x post about open weights", **SURE)
        mastodon = add_post(session, version, "mastodon post, fairly sure", source="mastodon",
                            relevance=0.9, proba=(0.6, 0.2, 0.2))
        german_july = add_post(session, version, "Offene Gewichte, na endlich", lang="de", month=7, **SURE)
    with sessions() as session:
        chosen = labeling.choose_posts(session, "anna", 3, version)
        everything = labeling.choose_posts(session, "anna", 100, version)
    # One per (month, source, language) bucket first, the bucket with the most uncertain post leading.
    assert [c.post_id for c in chosen] == [unsure_x[0], mastodon, german_july]
    assert [c.post_id for c in everything][-1] == sure_x
    assert len(everything) == 8
    assert all(not hasattr(c, "author") for c in chosen)


def test_choice_skips_own_labels_and_near_duplicates_but_not_others_labels(sessions):
    with sessions.begin() as session:
        version = add_version(session)
        labelled_by_anna = add_post(session, version, "OpenAI should release the weights", **UNSURE)
        copy = add_post(session, version, "openai should RELEASE the weights!!!", **UNSURE)  # same content hash
        labelled_by_ben = add_post(session, version, "Closed models are safer, keep them closed", **UNSURE)
        long_text = "Breaking: OpenAI announces an open-weight model family for local use, details below"
        first = add_post(session, version, long_text + " - great news", **UNSURE)
        same_start = add_post(session, version, long_text.upper() + " ... finally", **SURE)  # same 60-char prefix
        other = add_post(session, version, "Something else entirely about Llama", **SURE)
        labeling.save_label(session, labelled_by_anna, "anna", Label(True, "pro_open", "positive"))
        labeling.save_label(session, labelled_by_ben, "ben", Label(True, "pro_closed", "neutral", ("safety",), True))
    with sessions() as session:
        chosen = {c.post_id for c in labeling.choose_posts(session, "anna", 100, version)}
    assert chosen == {labelled_by_ben, first, other}
    assert copy not in chosen and same_start not in chosen and labelled_by_anna not in chosen


def test_choice_needs_classifications(sessions):
    with sessions.begin() as session:
        version = add_version(session)
    with sessions() as session, pytest.raises(MonitorError, match="stance classify"):
        labeling.choose_posts(session, "anna", 10, version)


def test_off_topic_labels_must_be_neutral_without_aspects():
    with pytest.raises(ValueError, match="off-topic"):
        Label(False, "pro_open", "negative")
    with pytest.raises(ValueError, match="aspects"):
        Label(True, "pro_open", "negative", ("speed",))


def scripted(keys):
    """An ask() that answers with the given keys and then behaves like a closed input."""
    remaining = iter(keys)
    prompts = []

    def ask(prompt):
        prompts.append(prompt)
        try:
            return next(remaining)
        except StopIteration:
            raise EOFError from None

    return ask, prompts


def stored(sessions, annotator):
    with sessions() as session:
        return {label.post_id: label for label in session.scalars(
            select(HumanLabel).where(HumanLabel.annotator == annotator))}


def test_keys_label_posts_with_skip_undo_quit_and_resume(sessions):
    with sessions.begin() as session:
        version = add_version(session)
        ids = [add_post(session, version, f"post {i} about open weights and OpenAI", relevance=0.5 + i / 100)
               for i in range(6)]
    # Most uncertain first: ids[0], ids[1], ...
    keys = [
        "y", "o", "p", "f", "g", "f", "c", "\r", "n",  # ids[0]: pro_open, positive, safety toggled off again
        "x", "n", "t",                                 # ids[1]: an unknown key, then off-topic, neutral tone
        "y", "s",                                      # ids[2]: skipped halfway
        "y", "u",                                      # ids[3]: undo -> back to ids[1], its label removed
        "y", "c", "n", "f", "\n", "y",                 # ids[1] again: pro_closed, negative, safety concern
        "q",                                           # ids[3]: quit
    ]
    ask, prompts = scripted(keys)
    shown = []
    summary = labeling.annotate(sessions, "anna", version, ask, shown.append, limit=4)
    assert summary.quit and summary.labelled == 2 and summary.skipped == 1 and summary.undone == 1
    labels = stored(sessions, "anna")
    assert set(labels) == {ids[0], ids[1]}
    first, second = labels[ids[0]], labels[ids[1]]
    assert (first.relevant, first.stance, first.sentiment, first.aspects, first.safety_concern) == (
        True, "pro_open", "positive", ["competition", "governance"], False)
    assert (second.relevant, second.stance, second.sentiment, second.aspects, second.safety_concern) == (
        True, "pro_closed", "negative", ["safety"], True)
    assert any("unknown key 'x'" in line for line in shown)
    assert not any("secret-author" in line for line in shown)
    assert any(f"post {ids[0]} · x · 2025-08-" in line and "· en ──" in line for line in shown)

    # Resume: only unlabelled posts come back; an off-topic answer skips stance, aspects and concern.
    ask, prompts = scripted(["n", "t", "y", "n", "t", "\n", "n"])
    summary = labeling.annotate(sessions, "anna", version, ask, shown.append, limit=2)
    assert summary.labelled == 2 and not summary.quit
    assert summary.post_ids == [ids[2], ids[3]]
    off_topic = stored(sessions, "anna")[ids[2]]
    assert (off_topic.relevant, off_topic.stance, off_topic.aspects, off_topic.safety_concern) == (
        False, "neutral", [], False)
    assert prompts[:2] == ["relevant? [y]es [n]o", "sentiment? [p]ositive [n]egative neu[t]ral"]
    assert len(stored(sessions, "anna")) == 4


def test_end_of_input_quits_and_keeps_what_was_labelled(sessions):
    with sessions.begin() as session:
        version = add_version(session)
        for i in range(3):
            add_post(session, version, f"post {i} on open weights", **UNSURE)
    ask, _ = scripted(["n", "p", "n"])
    summary = labeling.annotate(sessions, "anna", version, ask, lambda _: None, limit=3)
    assert summary.quit and summary.labelled == 1 and len(stored(sessions, "anna")) == 1


def fill(path, rows, delimiter=","):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerows(rows)


def test_export_then_import_stores_good_rows_names_bad_ones_and_never_duplicates(sessions, tmp_path):
    with sessions.begin() as session:
        version = add_version(session)
        ids = [add_post(session, version, f"post {i}: open weights now", relevance=0.5 + i / 100) for i in range(6)]
        formula = add_post(session, version, "=HYPERLINK(\"http://evil\") release the weights", relevance=0.4)
    exported = tmp_path / "batch.csv"
    with sessions() as session:
        assert labeling_csv.export_csv(session, "anna", 10, version, exported) == 7
    with open(exported, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["post_id", "source", "created", "lang", "text", "relevant", "stance", "sentiment", "aspects",
                       "safety_concern"]
    assert {int(r[0]) for r in rows[1:]} == set(ids) | {formula}
    assert all(r[5:] == [""] * 5 for r in rows[1:])
    assert next(r for r in rows[1:] if int(r[0]) == formula)[4].startswith("'=HYPERLINK")
    assert all(r[2].startswith("2025-08-") and r[3] == "en" for r in rows[1:])

    header = rows[0]
    filled = tmp_path / "filled.csv"
    fill(filled, [
        header,
        [ids[0], "x", "", "en", "multi\nline text", "yes", "pro_open", "positive", "safety; governance", "no"],  # 2-3
        [ids[1], "x", "", "en", "t", "false", "", "neutral", "", ""],                  # 4: off-topic, blanks ok
        [ids[2], "x", "", "en", "t", "true", "pro-open", "positive", "", ""],          # 5: bad stance
        [ids[3], "x", "", "en", "t", "maybe", "neutral", "neutral", "", ""],           # 6: bad relevant
        [ids[4], "x", "", "en", "t", "", "", "", "", ""],                              # 7: left blank
        [ids[5], "x", "", "en", "t", "false", "pro_closed", "negative", "", ""],       # 8: off-topic with stance
        [999999, "x", "", "en", "t", "true", "neutral", "neutral", "", ""],            # 9: unknown post
        [formula, "x", "", "en", "t", "true", "pro_closed", "negative", "speed", ""],  # 10: bad aspect
    ])
    with sessions.begin() as session:
        result = labeling_csv.import_csv(session, filled, "anna")
    assert result.stored == 2 and result.blank == 1
    assert result.errors == [
        "filled.csv:5: stance: expected one of pro_open, pro_closed, neutral, got 'pro-open'",
        "filled.csv:6: relevant: expected true or false, got 'maybe'",
        "filled.csv:8: stance: off-topic rows (relevant=false) are neutral, with no aspects and no concern",
        "filled.csv:9: post_id: no stored post has id 999999",
        "filled.csv:10: aspects: expected a subset of safety, competition, governance, local_ai, got 'speed'",
    ]
    labels = stored(sessions, "anna")
    assert labels[ids[0]].aspects == ["safety", "governance"] and labels[ids[0]].safety_concern is False
    assert (labels[ids[1]].relevant, labels[ids[1]].stance) == (False, "neutral")

    with sessions.begin() as session:
        again = labeling_csv.import_csv(session, filled, "anna")
    assert again.stored == 2 and len(stored(sessions, "anna")) == 2

    # A German Excel saves with semicolons; the same labels under another annotator are separate rows.
    semicolons = tmp_path / "excel.csv"
    fill(semicolons, [header, [ids[0], "x", "", "en", "t", "ja", "neutral", "neutral", "", "nein"]], delimiter=";")
    with sessions.begin() as session:
        assert labeling_csv.import_csv(session, semicolons, "ben").stored == 1
    assert stored(sessions, "ben")[ids[0]].stance == "neutral"
    with sessions() as session:
        assert session.scalar(select(func.count(HumanLabel.id))) == 3


def test_import_refuses_files_it_cannot_use(sessions, tmp_path):
    with sessions.begin() as session:
        add_version(session)
    (tmp_path / "wrong.csv").write_text("id,label\n1,x\n")
    (tmp_path / "latin1.csv").write_bytes("post_id,relevant,sentiment\n1,ja,négatif\n".encode("latin-1"))
    with sessions.begin() as session:
        with pytest.raises(MonitorError, match="wrong.csv: missing column.*post_id, relevant, sentiment"):
            labeling_csv.import_csv(session, tmp_path / "wrong.csv", "anna")
        with pytest.raises(MonitorError, match="latin1.csv: not UTF-8"):
            labeling_csv.import_csv(session, tmp_path / "latin1.csv", "anna")
        with pytest.raises(MonitorError, match="missing.csv: cannot read"):
            labeling_csv.import_csv(session, tmp_path / "missing.csv", "anna")


def test_agreement_is_cohens_kappa_per_field_over_shared_posts(sessions):
    anna = [Label(True, "pro_open", "positive"), Label(True, "pro_closed", "negative", ("safety",), True),
            Label(False, "neutral", "neutral"), Label(True, "neutral", "neutral"), Label(True, "pro_open", "negative")]
    ben = [Label(True, "pro_open", "positive"), Label(True, "neutral", "negative", ("safety",), False),
           Label(False, "neutral", "negative"), Label(True, "neutral", "neutral"), Label(True, "pro_open", "positive")]
    with sessions.begin() as session:
        version = add_version(session)
        ids = [add_post(session, version, f"post {i}") for i in range(7)]
        for post_id, a, b in zip(ids, anna, ben):
            labeling.save_label(session, post_id, "anna", a)
            labeling.save_label(session, post_id, "ben", b)
        labeling.save_label(session, ids[5], "carl", Label(True, "pro_open", "positive"))
        labeling.save_label(session, ids[6], "anna", Label(True, "pro_open", "positive"))
    with sessions() as session:
        results = labeling_csv.agreement(session)
    assert [(r.first, r.second, r.posts) for r in results] == [("anna", "ben", 5)]
    (result,) = results
    for name in ("relevant", "stance", "sentiment", "safety_concern"):
        expected = cohen_kappa_score([str(getattr(x, name)) for x in anna], [str(getattr(x, name)) for x in ben])
        assert result.kappa[name] == pytest.approx(expected)
    assert result.kappa["relevant"] == pytest.approx(1.0)
    assert result.observed["stance"] == pytest.approx(0.8)


def test_agreement_is_undefined_when_both_always_say_the_same(sessions):
    with sessions.begin() as session:
        version = add_version(session)
        for i in range(3):
            post_id = add_post(session, version, f"post {i}")
            for annotator in ("anna", "ben"):
                labeling.save_label(session, post_id, annotator, Label(True, "pro_open", "positive"))
    with sessions() as session:
        (result,) = labeling_csv.agreement(session)
    assert math.isnan(result.kappa["relevant"]) and result.observed["relevant"] == 1.0
