"""Decision offsets of a sentiment scorer: added to its negative and positive decision values before the argmax.

A scorer fitted on tweets weighs the classes as tweets do; offsets chosen on held-out data move its
boundaries towards the texts it is judged on (``classifiers.sentiment.train`` says on which). Neutral stays at
0, so two numbers describe the shift.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from classifiers.sentiment.base import LABELS

#: Offsets searched for the negative and positive decision values (neutral stays at 0).
OFFSET_GRID = np.round(np.arange(-1.5, 1.51, 0.1), 2)
#: Offsets are kept only if they beat zero offsets by this much on the held-out data they were chosen on.
MIN_OFFSET_GAIN = 0.005


def tune_offsets(
    decisions: list[np.ndarray], objective: Callable[[list[np.ndarray]], float],
    applies: list[np.ndarray] | None = None,
) -> tuple[tuple[float, float, float], float]:
    """The (negative, 0, positive) offsets on :data:`OFFSET_GRID` that maximise ``objective``.

    ``decisions`` are held-out decision values (one array per evaluation set, columns in LABELS order);
    ``objective`` receives the predicted labels of each set; ``applies`` (one boolean array per set) says
    which rows the offsets are added to (all by default). Ties keep the offsets closest to zero, and a gain
    below :data:`MIN_OFFSET_GAIN` over zero offsets returns zero offsets.
    """
    labels = np.array(LABELS)
    masks = [np.ones((len(d), 1)) for d in decisions] if applies is None else [
        np.asarray(a, dtype=float)[:, None] for a in applies]
    best: tuple[float, tuple[float, float, float], float] = (-1.0, (0.0, 0.0, 0.0), 0.0)
    for negative in OFFSET_GRID:
        for positive in OFFSET_GRID:
            offsets = np.array([negative, 0.0, positive])
            score = objective([labels[(d + m * offsets).argmax(axis=1)] for d, m in zip(decisions, masks, strict=True)])
            size = abs(negative) + abs(positive)
            if score > best[0] + 1e-12 or (abs(score - best[0]) <= 1e-12 and size < best[2]):
                best = (score, (float(negative), 0.0, float(positive)), size)
    baseline = objective([labels[d.argmax(axis=1)] for d in decisions])
    if best[0] < baseline + MIN_OFFSET_GAIN:
        return (0.0, 0.0, 0.0), baseline
    return best[1], best[0]
