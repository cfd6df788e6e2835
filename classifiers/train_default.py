"""Retrain the shipped default topic model reproducibly: ``python -m classifiers.train_default``.

Trains on the seed set plus the labelled real comments of the pool's training threads (texts read from
../shared/datasets), cross-validates on the same data, measures on the held-out pool threads, and writes
``classifiers/artefacts/stance_default`` with its metrics.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from classifiers import DEFAULT_STANCE_ARTEFACT, artefacts
from classifiers.stance import TopicClassifier
from classifiers.training import cross_validate, data_hash, evaluate, load_pool_examples, load_seed_set

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--out", type=Path, default=DEFAULT_STANCE_ARTEFACT)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    seed = load_seed_set()
    pool_train, pool_held_out = load_pool_examples(args.datasets)
    examples = seed + pool_train
    print(f"training on {len(seed)} seed + {len(pool_train)} pool examples; {len(pool_held_out)} held out")
    model = TopicClassifier()
    cv = cross_validate(model, examples, folds=args.folds)
    model.fit([x["text"] for x in examples], examples)
    metrics = {"cross_validated": cv}
    if pool_held_out:
        heads = model.predict_heads([x["text"] for x in pool_held_out])
        metrics["pool_held_out"] = evaluate(pool_held_out, heads, model.relevance_threshold)
    # Prevalence correction needs the confusion among relevant posts; the cross-validated one is honest.
    metrics["stance_confusion"] = cv["stance_confusion"]
    name = "stance-default-" + data_hash(examples)[:10]
    artefacts.save(
        model,
        args.out,
        {
            "name": name,
            "kind": "stance",
            "data_hash": data_hash(examples),
            "training_data": {"seed": len(seed), "pool_train": len(pool_train)},
            "params": model.get_params(),
            "metrics": metrics,
        },
    )
    print(json.dumps({"name": name, "cv_stance": cv["stance"]["macro_f1"], "cv_relevant": cv["relevant"]["f1"],
                      "held_out": {k: metrics.get("pool_held_out", {}).get(k) for k in ("relevant",)}}, indent=1))


if __name__ == "__main__":
    main()
