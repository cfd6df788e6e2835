"""Do corrected shares beat counted ones on real posts? Held-out posts as they are, and resampled at known
true shares.

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
from classifiers.training import COMMUNITIES, load_training_data
from reports.shares import COMMUNITY_OF_SOURCE, Confusions, ShareEstimator, find_corrector

#: A platform whose posts the reports correct as each labelled community (``reports.shares``).
PLATFORM_OF = {community: next(p for p, c in COMMUNITY_OF_SOURCE.items() if c == community)
               for community in COMMUNITIES.values()}


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
    lines = by_community(kept, metadata["metrics"])
    lines += [f"Stance shares among held-out real posts decided relevant ({len(kept)}; per true stance "
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


def by_community(kept: list, metrics: dict, n_sample: int = 100, n_sets: int = 40, seed: int = 0) -> list[str]:
    """The pro-open share of each community's held-out posts (and of all of them) as the reports state it:
    corrected with one matrix pooled over the communities (as before), and with each community's own matrix,
    combined over communities (as now). First the split as it is, then resampled at known true shares."""
    pooled = Confusions(Confusions.from_metrics(metrics).pooled)
    estimators = {"pooled matrix": ShareEstimator(find_corrector(), pooled),
                  "matrix per community": ShareEstimator.from_metrics(metrics, find_corrector())}
    cells = [(PLATFORM_OF[COMMUNITIES[x["source"]]], x["lang"]) for x, _ in kept]
    gold = np.array([gold_stance(x) for x, _ in kept])
    decided = np.array([y.stance for _, y in kept])
    groups = {f"{COMMUNITIES[source]} {lang}": np.array([(x["source"], x["lang"]) == (source, lang) for x, _ in kept])
              for source, lang in sorted({(x["source"], x["lang"]) for x, _ in kept})}
    groups["all communities"] = np.ones(len(kept), dtype=bool)

    def shares(mask) -> list[float]:
        counted: dict[tuple[str, str], dict[str, int]] = {}
        for cell, stance, kept_here in zip(cells, decided, mask):
            if kept_here:
                counted.setdefault(cell, dict.fromkeys(STANCES, 0))[stance] += 1
        return [estimator.estimate(counted)["pro_open"].share for estimator in estimators.values()]

    lines = ["Pro-open share of the held-out real posts decided relevant, per community, as the split is: the "
             "truth, the share as classified, and corrected with the pooled matrix and with each community's own",
             f"  {'posts':<18} {'n':>5} {'true':>6} {'classified':>11} {'pooled matrix':>14} "
             f"{'per community':>14}"]
    for name, mask in groups.items():
        pooled_share, own_share = shares(mask)
        lines.append(f"  {name:<18} {mask.sum():5d} {np.mean(gold[mask] == 'pro_open'):6.2f} "
                     f"{np.mean(decided[mask] == 'pro_open'):11.2f} {pooled_share:14.2f} {own_share:14.2f}")
    rng = np.random.default_rng(seed)
    lines += [f"Resampled: {n_sets} samples of {n_sample} posts of one community at known true shares "
              "(open/closed/neutral); mean absolute error of the pro-open share, in points, and how often the "
              "95% interval of the per-community correction covers the truth",
              f"  {'posts':<18} {'true shares':<16} {'classified':>11} {'pooled matrix':>14} {'per community':>14} "
              f"{'covered':>8}"]
    for name, mask in groups.items():
        if name == "all communities":
            continue
        pools = [np.flatnonzero(mask & (gold == s)) for s in STANCES]
        for truth in [(0.1, 0.02, 0.88), (0.3, 0.02, 0.68), (0.5, 0.02, 0.48)]:
            errors, covered = [], []
            for _ in range(n_sets):
                counts = rng.multinomial(n_sample, truth)
                sample = np.concatenate([rng.choice(pools[k], c) for k, c in enumerate(counts) if c and len(pools[k])])
                true_open = np.mean(gold[sample] == "pro_open")
                counted = {cells[sample[0]]: {s: int((decided[sample] == s).sum()) for s in STANCES}}
                pooled_share, own = (estimator.estimate(counted)["pro_open"] for estimator in estimators.values())
                errors.append([abs(np.mean(decided[sample] == "pro_open") - true_open),
                               abs(pooled_share.share - true_open), abs(own.share - true_open)])
                covered.append(own.low <= true_open <= own.high)
            mean = 100 * np.mean(errors, axis=0)
            lines.append(f"  {name:<18} {'/'.join(f'{p:.2f}' for p in truth):<16} {mean[0]:11.1f} {mean[1]:14.1f} "
                         f"{mean[2]:14.1f} {np.mean(covered):8.2f}")
    return lines


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
