"""`stance train DATA --label-col` and `stance predict --model` on a labelled file written here."""

import csv
import json

from tests_support import stance

FAVOUR = ["I fully support {t}", "{t} is the right thing, finally", "great news about {t}", "more of {t} please",
          "yes to {t}, absolutely", "{t} makes me hopeful"]
AGAINST = ["I oppose {t} completely", "{t} is a terrible idea", "stop {t} now", "no more {t}, enough",
           "{t} will end badly", "{t} worries me deeply"]


def write_data(path):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["body", "target", "label"])
        for target in ("open weights", "atomic power"):
            for template in FAVOUR:
                writer.writerow([template.format(t=target), target, "FAVOR"])
            for template in AGAINST:
                writer.writerow([template.format(t=target), target, "AGAINST"])


def test_train_any_label_column_then_predict_with_it(workdir, capsys):
    write_data(workdir / "labelled.csv")
    code, out, err = stance(capsys, "train", "labelled.csv", "--label-col", "label", "--text-col", "body",
                            "--group-col", "target", "--out", "my-model", "--folds", "2")
    assert code == 0, err
    assert "FAVOR" in out and "AGAINST" in out and "trained on 24 examples" in out
    metadata = json.loads((workdir / "my-model" / "metadata.json").read_text())
    assert metadata["kind"] == "text-classifier" and metadata["group_col"] == "target"

    (workdir / "new.csv").write_text("body,target\nI fully support open weights and more of it,open weights\n"
                                     "stop atomic power now it is a terrible idea,atomic power\n")
    code, out, err = stance(capsys, "predict", "new.csv", "--text-col", "body", "--model", "my-model",
                            "--out", "pred.jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in (workdir / "pred.jsonl").read_text().splitlines()]
    assert [r["label"] for r in rows] == ["FAVOR", "AGAINST"]
    assert all(0.5 <= r["label_confidence"] <= 1 for r in rows)

    (workdir / "nogroup.csv").write_text("body\nI fully support open weights\n")
    code, _, err = stance(capsys, "predict", "nogroup.csv", "--text-col", "body", "--model", "my-model",
                          "--out", "x.jsonl")
    assert code == 1 and "'target' is missing" in err


def test_train_rejects_a_file_without_enough_classes(workdir, capsys):
    (workdir / "one.csv").write_text("text,label\n" + "".join(f"post {i},A\n" for i in range(10)))
    code, _, err = stance(capsys, "train", "one.csv", "--label-col", "label", "--out", "m")
    assert code == 1 and "needs at least two classes" in err


def test_topic_metrics_show_the_confusion_of_each_community_that_corrects_reports(capsys):
    from classifiers import DEFAULT_STANCE_ARTEFACT, artefacts
    from monitor.cli.models import _print_topic_metrics

    _, metadata = artefacts.load(DEFAULT_STANCE_ARTEFACT)
    _print_topic_metrics(metadata["metrics"])
    out = capsys.readouterr().out
    for community, matrix in metadata["metrics"]["stance_confusion_by_community"].items():
        assert f"the same on {community} posts" in out and str(matrix) in out
