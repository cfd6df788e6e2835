"""The training half of ``classifiers.sentiment.network``: USE's network in torch, tuned with AdamW.

Imported only to fit (torch is the ``tune`` extra). The module computes what ``classifiers.use_network`` computes
in numpy, operation for operation (``tests/test_sentiment_network.py`` holds the two to 1e-5), so the weights
it returns run unchanged at prediction time.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from classifiers.use_network import CNN_DIM, MAX_LEFT, ORDERS, PooledNetwork, token_windows


class TorchNetwork(torch.nn.Module):
    """USE from its token table to the L2-normalised embedding, with the token-pass and output weights trainable
    and one linear softmax head of three classes per group."""

    codes: torch.Tensor
    scale: torch.Tensor
    offset: torch.Tensor

    def __init__(self, network: PooledNetwork, n_groups: int):
        super().__init__()
        codes, scale, offset = network.token_table()
        self.register_buffer("codes", torch.from_numpy(np.asarray(codes)))
        self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))
        self.register_buffer("offset", torch.from_numpy(offset.astype(np.float32)))

        def parameters(weights: dict[str, np.ndarray]) -> torch.nn.ParameterDict:
            return torch.nn.ParameterDict({name: torch.nn.Parameter(torch.from_numpy(np.array(value, np.float32)))
                                           for name, value in weights.items()})

        self.token = parameters(network.token_weights())
        self.output = parameters(network.output_weights())
        self.heads = torch.nn.Linear(512, 3 * n_groups)
        self.n_groups = n_groups
        self.eps = network.eps

    def _layernorm(self, x, gamma, beta):
        x = x - x.mean(1, keepdim=True)
        return x * torch.rsqrt((x * x).mean(1, keepdim=True) + self.eps) * gamma + beta

    def pooled(self, batch: list[list[int]]):
        """Summed token features and token counts, as ``PooledNetwork._pool_batch`` computes them."""
        w = self.token
        lengths = np.array([len(ids) for ids in batch])
        flat = torch.from_numpy(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in batch]))
        sentence = np.repeat(np.arange(len(batch)), lengths)
        n = len(flat)
        chunk = flat % len(self.scale)
        embedded = self.codes[flat].float() * self.scale[chunk, None] + self.offset[chunk, None]
        projected = self._layernorm(embedded @ w["proj_W"] + w["proj_b"], w["ln_g_all"], w["ln_b_all"])
        window = token_windows(sentence)
        zero = torch.zeros(1, CNN_DIM)
        features = [embedded]
        for branch, (order, left) in enumerate(ORDERS):
            columns = torch.from_numpy(window[:, MAX_LEFT - left:MAX_LEFT - left + order])
            x = projected[:, branch * CNN_DIM:(branch + 1) * CNN_DIM]
            hidden = torch.relu(torch.cat([x, zero])[columns].reshape(n, -1) @ w[f"w1_{branch}"]
                                + w[f"b1_{branch}"]) + x
            out = torch.relu(torch.cat([hidden, zero])[columns].reshape(n, -1) @ w[f"w2_{branch}"]
                             + w[f"b2_{branch}"]) + hidden
            features.append(out)
        normed = self._layernorm(torch.cat(features, 1), w["ln_g"], w["ln_b"])
        summed = torch.zeros(len(batch), normed.shape[1]).index_add_(0, torch.from_numpy(sentence), normed)
        return summed, torch.from_numpy(lengths.astype(np.float32))

    def forward(self, batch: list[list[int]]):
        """The L2-normalised embeddings, as ``OutputLayers`` computes them from the pooled features."""
        features, tokens = self.pooled(batch)
        w = self.output
        mean = (features @ w["cnn_W"] + tokens[:, None] * w["cnn_b"]) / torch.sqrt(tokens)[:, None]
        first = torch.relu(mean @ w["d0"])
        second = torch.relu(mean @ w["p1"] + first @ w["d1"])
        third = torch.relu(second @ w["d2"])
        z = torch.tanh(second @ w["p3"] + third @ w["d3"])
        return z / torch.sqrt(torch.clamp((z * z).sum(1, keepdim=True), min=1e-6))

    def weights(self) -> dict[str, np.ndarray]:
        return {name: value.detach().numpy().copy() for part in (self.token, self.output)
                for name, value in part.items()}


@contextmanager
def _deterministic():
    """torch's deterministic kernels while inside, the previous setting after."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


@_deterministic()
def tune(network: PooledNetwork, token_ids: list[list[int]], labels: np.ndarray, groups: np.ndarray,
         weight: np.ndarray, *, epochs: int, batch_size: int, random_state: int, rates: dict[str, float],
         weight_decay: float, temperature: float, warmup_steps: int) -> dict[str, np.ndarray]:
    """Weighted cross-entropy of the group heads, AdamW with a linear warm-up and decay; the tuned weights.

    Deterministic: the scatter-adds of the token windows' gradients otherwise sum in a varying order, and two
    fits with the same seed differed; with torch's deterministic kernels they agree, on one thread or two."""
    torch.manual_seed(random_state)
    model = TorchNetwork(network, int(groups.max()) + 1)
    optimiser = torch.optim.AdamW([
        {"params": list(model.token.values()), "lr": rates["token"], "weight_decay": weight_decay},
        {"params": list(model.output.values()), "lr": rates["output"], "weight_decay": weight_decay},
        {"params": list(model.heads.parameters()), "lr": rates["head"], "weight_decay": 0.0}])
    base_rates = [group["lr"] for group in optimiser.param_groups]
    total = epochs * int(np.ceil(len(labels) / batch_size))
    rng = np.random.RandomState(random_state)
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(labels))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            schedule = min(1.0, (step + 1) / warmup_steps) * max(0.0, 1 - step / total)
            for group, rate in zip(optimiser.param_groups, base_rates, strict=True):
                group["lr"] = rate * schedule
            logits = model.heads(model([token_ids[i] for i in rows]) * temperature)
            logits = logits.view(len(rows), model.n_groups, 3)[torch.arange(len(rows)), torch.from_numpy(groups[rows])]
            loss = (torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels[rows]), reduction="none")
                    * torch.from_numpy(weight[rows]).float()).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
    return model.weights()
