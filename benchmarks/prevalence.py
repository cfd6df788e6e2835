"""Do corrected shares beat counted ones on real posts? Held-out posts resampled at known true shares.

    python benchmarks/quality.py --only prevalence

Stance shares, and the share voicing a safety concern, among the held-out real posts the shipped model decides
relevant: counted from the decided labels against corrected by the confusion matrices the model stores (measured
out of fold on training data, so the correction is judged on posts it was not estimated from).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from quality import DEFAULT_STANCE_ARTEFACT, gold_stance

from classifiers import artefacts, load_post_classifier
from classifiers.binary_prevalence import corrected_binary_share
from classifiers.labels import STANCES
from classifiers.prevalence import corrected_shares
from classifiers.training import load_training_data


def prevalence(data_dir: Path, n_sample: int = 300, n_sets: int = 30, seed: int = 0) -> list[str]:
    """Stance shares among held-out real posts the model decides relevant (an off-topic one counting as
    neutral, as in reports), resampled at known true shares: the error of counting decided labels against the
    correction by the shipped confusion matrix (measured out of fold on training data, so the correction is
    judged on posts it was not estimated from)."""
    data = load_training_data(data_dir)
    if not data.held_out:
        return ["prevalence: skipped, " + "; ".join(data.missing)]
    _, metadata = artefacts.load(DEFAULT_STANCE_ARTEFACT)
    confusion = metadata["metrics"]["stance_confusion"]
    labels = load_post_classifier().classify([x["text"] for x in data.held_out], [x["lang"] for x in data.held_out])
    kept = [(x, y) for x, y in zip(data.held_out, labels) if y.relevant]
    gold = np.array([STANCES.index(gold_stance(x)) for x, _ in kept])
    decided = np.array([STANCES.index(y.stance) for _, y in kept])
    pools = [np.flatnonzero(gold == k) for k in range(3)]
    rng = np.random.default_rng(seed)
    lines = [f"Stance shares among held-out real posts decided relevant ({len(kept)}; per true stance "
             f"{[len(p) for p in pools]}), {n_sets} samples of {n_sample} per row, drawn with replacement; "
             "mean absolute error of the three shares, in points",
             f"  correction matrix (training, out of fold, rows true): {confusion}",
             f"  {'true shares (open/closed/neutral)':<36} {'counted':>8} {'corrected':>10}"]
    for shares in [(0.6, 0.1, 0.3), (0.8, 0.02, 0.18), (0.4, 0.3, 0.3), (0.3, 0.05, 0.65), (0.5, 0.2, 0.3)]:
        counted, corrected = [], []
        for _ in range(n_sets):
            counts = rng.multinomial(n_sample, shares)
            sample = np.concatenate([rng.choice(pools[k], c) for k, c in enumerate(counts) if c])
            predicted = {s: int((decided[sample] == k).sum()) for k, s in enumerate(STANCES)}
            estimate = corrected_shares(predicted, confusion, n_boot=20, seed=seed)
            truth = counts / n_sample
            counted.append(np.mean([abs(predicted[s] / n_sample - truth[k]) for k, s in enumerate(STANCES)]))
            corrected.append(np.mean([abs(estimate[s].share - truth[k]) for k, s in enumerate(STANCES)]))
        lines.append(f"  {'/'.join(f'{p:.2f}' for p in shares):<36} {100 * np.mean(counted):8.2f} "
                     f"{100 * np.mean(corrected):10.2f}")
    return lines + _safety_prevalence(kept, metadata["metrics"].get("safety_confusion"), n_sample, n_sets, rng)


def _safety_prevalence(kept, confusion, n_sample: int, n_sets: int, rng) -> list[str]:
    """The same for the share voicing a safety concern, corrected by the shipped safety confusion, with how
    often the 95% interval covers the true share."""
    if confusion is None:
        return ["  safety concern: the shipped model stores no safety confusion"]
    gold = np.array([bool(x["relevant"] and x.get("safety_concern")) for x, _ in kept])
    flagged = np.array([y.safety_concern for _, y in kept])
    pools = [np.flatnonzero(~gold), np.flatnonzero(gold)]
    lines = [f"Share voicing a safety concern among the same posts (without / with one: {[len(p) for p in pools]}); "
             "mean absolute error in points, and the share of samples whose 95% interval covers the truth",
             f"  correction matrix (training, out of fold, rows true no / yes): {confusion}",
             f"  {'true share':<36} {'counted':>8} {'corrected':>10} {'covered':>8} {'Wilson covered':>15}"]
    for share in (0.0, 0.01, 0.05, 0.15):
        counted, corrected, covered, raw_covered = [], [], [], []
        for _ in range(n_sets):
            positives = rng.binomial(n_sample, share)
            sample = np.concatenate([rng.choice(pools[0], n_sample - positives), rng.choice(pools[1], positives)])
            estimate = corrected_binary_share(int(flagged[sample].sum()), n_sample, confusion, n_boot=100)
            raw = corrected_binary_share(int(flagged[sample].sum()), n_sample, None)
            truth = positives / n_sample
            counted.append(abs(raw.share - truth))
            corrected.append(abs(estimate.share - truth))
            covered.append(estimate.low <= truth <= estimate.high)
            raw_covered.append(raw.low <= truth <= raw.high)
        lines.append(f"  {share:<36.2f} {100 * np.mean(counted):8.2f} {100 * np.mean(corrected):10.2f} "
                     f"{np.mean(covered):8.2f} {np.mean(raw_covered):15.2f}")
    return lines
