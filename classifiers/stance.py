"""The topic model: relevance, stance, aspects and safety concern from one feature space.

Features are TF-IDF word and character n-grams (``TextFeatures``) next to the post's multilingual sentence
embedding (``classifiers.encoder``). The n-grams carry names, keyword traps and negation ("nicht offen"); the
embedding carries the argument ("closed models are safer" and "Geschlossene Modelle sind sicherer" land
together) and lets English examples teach the German heads. Each head is a class-balanced logistic
regression; their weights are kept as one matrix, so scoring a post is one sparse product. Relevance also
hears a small neural network on the embedding alone (``relevance_mlp``): whether a short comment is about
releasing models at all is a non-linear question of its meaning, and in grouped cross-validation the blend
raised relevance accuracy in every community (web passages +2 to +4 points, Reddit F1 +1). The same network
for stance (three classes, blended at 0.2-0.5) and for safety concern did not hold up: over three fold
assignments, stance macro-F1 on web passages moved en +0.011, de -0.015 and on Reddit 0.000 (share 0.35), and
safety-concern F1 fell on German passages, so only relevance has one. Nor did a second, logistic safety head
on the embedding alone, blended in at 0.2-1.0: over two fold assignments web safety-concern F1 rose (0.314 ->
0.370 and 0.286 -> 0.372 at 0.6) but Reddit's fell (0.062 -> 0.047, 0.081 -> 0.046), with more comments
flagged (3.2% -> 3.6% and 1.2% -> 3.0%, against 0.3% labelled), and so did seed posts' (0.691 -> 0.677,
0.736 -> 0.691): the rule's objective, the mean over the communities, moved +0.009 and +0.002. On the
held-out split web F1 stayed at 0.485. A second embedding block for long texts (as the German sentiment model
has) was mixed too: cut at 160 characters, web stance en 0.512 -> 0.530 but relevance accuracy de 0.786 ->
0.763 and Reddit 0.779 -> 0.768; cut at 400, no change above 0.01.
Nor did the labelled neighbours help: blending the pro_open share of a Reddit comment's 10 or 30 nearest
labelled relevant comments (cosine on the embedding) into the stance head moved Reddit stance among relevant
comments by +0.005 to +0.013 out of fold, with the blend and the cut chosen on the same scores.
Nor did USE's output layers tuned for the topic, as the sentiment scorers' version 6 tuned them for tone
(one head each for relevance, stance and safety concern; one fold assignment): tuned on the seed posts, the
heads reading it rose on seed posts only and lost German web relevance accuracy (0.786 -> 0.714); tuned within
each fold on all its posts and averaged with USE's own embedding, web stance en 0.518 -> 0.519, de
0.365 -> 0.381, Reddit 0.458 -> 0.452, but relevance accuracy fell (web de 0.786 -> 0.776, Reddit
0.776 -> 0.760). Nor did USE tuned whole for the topic, its token pass too, as the sentiment scorers read it
(``classifiers.sentiment.network``; two epochs, a relevance head and a stance head, tuned anew within each of
five folds on that fold's training posts only, the heads then fitted on the tuned embedding instead of USE's):
web passages en rose (stance macro-F1 0.538 -> 0.561, relevance accuracy 0.812 -> 0.836), but Reddit relevance
F1 fell 0.663 -> 0.640 (accuracy 0.834 -> 0.809), German passages' relevance accuracy 0.773 -> 0.763 and
German seed stance 0.834 -> 0.808, at 5 minutes of tuning per fold and a second token pass at run time.

Scores become labels through a ``DecisionRule`` chosen out of fold by the training recipe
(``classifiers.recipe``), not through fixed cuts.

``TopicClassifier`` follows scikit-learn conventions: ``__init__`` stores hyper-parameters only, ``fit``
learns everything (attributes ending in ``_``). ``fit`` and the prediction methods take the texts and,
optionally, their embeddings: stored posts pass the stored vectors, so re-scoring never re-encodes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from classifiers import encoder
from classifiers.decisions import DecisionRule
from classifiers.features import make_text_features
from classifiers.labels import ASPECTS, STANCES

#: Columns of ``weights_``: one logit per binary head, three for the stance head.
HEAD_COLUMNS = {"relevant": [0], "stance": [1, 2, 3], "safety_concern": [4]} | {
    aspect: [5 + i] for i, aspect in enumerate(ASPECTS)
}


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Relevance, stance, aspects and safety concern for the default topic.

    ``fit(X, y, sample_weight=None, embeddings=None)`` takes texts and label dicts with keys ``relevant``,
    ``stance``, ``aspects`` and ``safety_concern`` (../shared/LABELING.md). The stance, aspect and safety
    heads learn from relevant posts only: they answer "given that the post is on topic, which side is it on",
    which is also the confusion that prevalence correction needs.

    :param C: inverse regularisation of the relevance head; ``C_stance`` of the stance head, ``C_aspects``
        of the aspect heads, ``C_safety`` of the safety-concern head (stronger: real safety concern is rare and
        worded unlike the seed posts; in grouped cross-validation 0.3 against 1 raised its F1 on real web
        passages from 0.36 to 0.41 and on Reddit from 0.07 to 0.11, at 0.02 on the seed posts).
    :param char_ngrams: lengths of the in-word character n-grams.
    :param embedding_weight: scale of the sentence embedding against the (L2-normalised) n-gram blocks;
        0 leaves the embedding out (and nothing is encoded).
    :param relevance_mlp: weight of the embedding network's probability in the relevance score (the logistic
        head has the rest); 0 leaves the network out. ``mlp_hidden`` units, ``mlp_epochs`` passes.
    :param random_state: seed of the network's initialisation and shuffling, for reproducible artefacts.
    """

    def __init__(
        self,
        C: float = 1.0,
        C_stance: float = 1.0,
        C_aspects: float = 1.0,
        C_safety: float = 0.3,
        char_ngrams: tuple[int, int] = (2, 4),
        max_char_features: int | None = None,
        min_df: int = 2,
        embedding_weight: float = 1.0,
        relevance_mlp: float = 0.3,
        mlp_hidden: int = 256,
        mlp_epochs: int = 30,
        random_state: int = 0,
    ):
        self.C = C
        self.C_stance = C_stance
        self.C_aspects = C_aspects
        self.C_safety = C_safety
        self.char_ngrams = char_ngrams
        self.max_char_features = max_char_features
        self.min_df = min_df
        self.embedding_weight = embedding_weight
        self.relevance_mlp = relevance_mlp
        self.mlp_hidden = mlp_hidden
        self.mlp_epochs = mlp_epochs
        self.random_state = random_state

    # --- fitting ----------------------------------------------------------------------------------------

    def fit(self, X: Sequence[str], y: Sequence[dict], sample_weight=None, embeddings=None) -> TopicClassifier:
        texts, labels = list(X), list(y)
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"X and y must be non-empty and of equal length, got {len(texts)} and {len(labels)}")
        weight = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weight.shape != (len(texts),) or (weight < 0).any():
            raise ValueError("sample_weight must hold one non-negative weight per text")
        low, high = self.char_ngrams
        self.features_ = make_text_features(
            char_ngrams=(int(low), int(high)), max_char_features=self.max_char_features, min_df=self.min_df
        ).fit(texts)
        self.encoder_ = encoder.NAME if self.embedding_weight else None
        vectors = self._vectors(texts, embeddings)
        features = self._features(texts, vectors)
        relevant = np.array([bool(label["relevant"]) for label in labels])
        self.relevance_network_ = (
            _fit_network(vectors, relevant, weight, self.mlp_hidden, self.mlp_epochs, self.random_state)
            if vectors is not None and self.relevance_mlp and np.unique(relevant).size == 2 else None
        )
        on_topic = [label for label, r in zip(labels, relevant) if r]
        on_features, on_weight = features[relevant], weight[relevant]
        width = features.shape[1]
        columns = [_binary_logit(self.C, features, relevant, weight)]
        stance = np.array([label["stance"] for label in on_topic])
        columns.append(_stance_logits(self.C_stance, on_features, stance, on_weight, width))
        concern = np.array([bool(label.get("safety_concern")) for label in on_topic])
        columns.append(_binary_logit(self.C_safety, on_features, concern, on_weight, width))
        for aspect in ASPECTS:
            target = np.array([aspect in label.get("aspects", ()) for label in on_topic])
            columns.append(_binary_logit(self.C_aspects, on_features, target, on_weight, width))
        self.weights_ = np.hstack([c[0] for c in columns]).astype(np.float32)
        self.intercepts_ = np.concatenate([c[1] for c in columns]).astype(np.float32)
        self.classes_ = np.array(STANCES)
        self.decision_rule_ = DecisionRule().to_dict()
        return self

    def set_decision_rule(self, rule: DecisionRule) -> TopicClassifier:
        """Adopt thresholds and offsets chosen out of fold (``DecisionRule.tune``)."""
        check_is_fitted(self, "weights_")
        self.decision_rule_ = rule.to_dict()
        return self

    @property
    def decision_rule(self) -> DecisionRule:
        check_is_fitted(self, "decision_rule_")
        return DecisionRule.from_dict(self.decision_rule_)

    # --- predicting -------------------------------------------------------------------------------------

    def predict_heads(self, X: Sequence[str], embeddings=None) -> dict[str, np.ndarray]:
        """Probabilities of every head: ``relevant`` (n,), ``stance`` (n, 3) in STANCES order (given that the
        post is relevant), ``safety_concern`` (n,) and one (n,) array per aspect."""
        check_is_fitted(self, "weights_")
        texts = list(X)
        vectors = self._vectors(texts, embeddings)
        logits = np.asarray(self._features(texts, vectors) @ self.weights_) + self.intercepts_
        heads = {name: expit(logits[:, cols[0]]) for name, cols in HEAD_COLUMNS.items() if len(cols) == 1}
        heads["stance"] = softmax(logits[:, HEAD_COLUMNS["stance"]], axis=1)
        network = getattr(self, "relevance_network_", None)  # absent in models trained before it existed
        if network is not None and vectors is not None:
            share = self.relevance_mlp
            heads["relevant"] = (1 - share) * heads["relevant"] + share * _network_proba(network, vectors)
        return heads

    def decide(self, X: Sequence[str], langs: Sequence[str | None], embeddings=None) -> tuple[dict, dict]:
        """``(heads, labels)``: the head probabilities and the labels the decision rule makes of them."""
        heads = self.predict_heads(X, embeddings)
        return heads, self.decision_rule.apply(heads, langs)

    def predict_proba(self, X: Sequence[str], embeddings=None) -> np.ndarray:
        return self.predict_heads(X, embeddings)["stance"]

    def predict(self, X: Sequence[str], embeddings=None) -> np.ndarray:
        """Stance labels (neutral for posts judged not relevant), with the language-independent rule."""
        texts = list(X)
        return self.decide(texts, [None] * len(texts), embeddings)[1]["stance"]

    def embed(self, X: Sequence[str]) -> np.ndarray | None:
        """The embeddings this model reads, or None if it reads none."""
        return encoder.encode(list(X)) if getattr(self, "encoder_", None) else None

    def _vectors(self, texts: list[str], embeddings) -> np.ndarray | None:
        """The sentence embeddings this model reads (given or encoded here), or None without an embedding."""
        if not self.embedding_weight:
            return None
        vectors = encoder.encode(texts) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        if vectors.shape != (len(texts), encoder.DIM):
            raise ValueError(f"expected {len(texts)} embeddings of {encoder.DIM} values, got {vectors.shape}")
        return vectors

    def _features(self, texts: list[str], vectors: np.ndarray | None) -> sp.csr_matrix:
        ngrams = self.features_.transform(texts)
        if vectors is None:
            return ngrams
        return sp.hstack([ngrams, sp.csr_matrix(vectors * self.embedding_weight)], format="csr")


#: The logit of an answer a head never saw the alternative of: probability 1 - 1e-13 or 1e-13.
CERTAIN = 30.0


def _binary_logit(C: float, features, target: np.ndarray, weight: np.ndarray, width: int | None = None):
    """The logit of the positive class as one weight column and its intercept. A target with one class (a
    user's labels without any post on competition, say) gives a constant answer."""
    width = features.shape[1] if width is None else width
    if np.unique(target).size < 2:
        constant = CERTAIN if target.size and target[0] else -CERTAIN
        return np.zeros((width, 1)), np.array([constant])
    head = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(features, target, sample_weight=weight)
    return head.coef_.T, head.intercept_


def _stance_logits(C: float, features, target: np.ndarray, weight: np.ndarray, width: int):
    """Three logit columns in STANCES order (multinomial); a stance never seen gets a very low constant."""
    weights = np.zeros((width, len(STANCES)))
    intercepts = np.full(len(STANCES), -CERTAIN)
    known = sorted(set(target.tolist()))
    if len(known) < 2:
        if known:
            intercepts[STANCES.index(known[0])] = CERTAIN
        return weights, intercepts
    head = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(features, target, sample_weight=weight)
    coef, intercept = head.coef_, head.intercept_
    if len(head.classes_) == 2:  # a binary LR keeps one row: the logit of classes_[1] against classes_[0]
        coef = np.vstack([np.zeros(width), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    for row, stance in enumerate(head.classes_):
        column = STANCES.index(stance)
        weights[:, column] = coef[row]
        intercepts[column] = intercept[row]
    return weights, intercepts


def _fit_network(vectors: np.ndarray, target: np.ndarray, weight: np.ndarray, hidden: int, epochs: int,
                 seed: int) -> tuple[np.ndarray, ...]:
    """One hidden ReLU layer on the sentence embedding for a binary target, as its four arrays.

    Trained with scikit-learn's ``MLPClassifier`` on class-balanced sample weights, for a fixed number of
    passes instead of early stopping, so that a refit is reproducible. Only the arrays are kept: scoring is
    two dense products, and the artefact holds no class beyond numpy's."""
    from sklearn.neural_network import MLPClassifier

    balanced = weight * np.where(target, weight.sum() / (2 * weight[target].sum()),
                                 weight.sum() / (2 * weight[~target].sum()))
    network = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-2, max_iter=epochs, random_state=seed)
    with warnings.catch_warnings():  # stopping after ``epochs`` passes is the regularisation, not a failure
        warnings.simplefilter("ignore", ConvergenceWarning)
        network.fit(vectors, target, sample_weight=balanced)
    layers = (network.coefs_[0], network.intercepts_[0], network.coefs_[1][:, 0], network.intercepts_[1])
    return tuple(np.asarray(a, dtype=np.float32) for a in layers)


def _network_proba(layers: tuple[np.ndarray, ...], vectors: np.ndarray) -> np.ndarray:
    hidden_weights, hidden_bias, out_weights, out_bias = layers
    hidden = np.maximum(np.asarray(vectors, dtype=np.float32) @ hidden_weights + hidden_bias, 0)
    return expit(hidden @ out_weights + out_bias[0])
