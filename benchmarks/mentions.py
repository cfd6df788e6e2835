"""What ``[privacy] mask_mentions`` costs in relevance: the shipped model on texts with and without masking.

    python benchmarks/mentions.py [--limit 400]

Two sets, both from the project's own labelled seed texts (``classifiers/data/seed_*.jsonl``, in the model's
training data, so absolute numbers are optimistic; the difference between the two runs is what counts):

- ``as written``: the seed and demo texts that contain an @mention, classified as written and masked.
- ``X-style``: the relevant seed texts with organisation names written as X handles (``OpenAI`` -> ``@OpenAI``,
  ``Meta`` -> ``@Meta``, ...), as posts on X mention them, classified with the handles and with them masked
  (``@user``). This is the worst case: every organisation name is a mention.

Prints, per set, how many texts the model calls relevant with and without masking, and how many relevance and
stance decisions change.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent), str(_HERE)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from classifiers import load_post_classifier  # noqa: E402
from classifiers.training import load_seed_set  # noqa: E402
from monitor.ingest.privacy import mask_mentions  # noqa: E402

DEMO = _HERE.parent / "monitor" / "demo" / "corpus.jsonl"
ORGANISATIONS = ("OpenAI", "Meta", "MistralAI", "Mistral", "DeepSeek", "Qwen", "xAI", "Anthropic", "Google",
                 "HuggingFace", "Hugging Face", "sama", "Altman")


def as_x_handles(text: str) -> str:
    for name in ORGANISATIONS:
        text = re.sub(rf"(?<![@\w]){re.escape(name)}\b", "@" + name.replace(" ", ""), text)
    return text


def compare(classifier, texts: list[str], langs: list[str]) -> dict[str, int]:
    plain = classifier.classify(texts, langs)
    masked = classifier.classify([mask_mentions(t) for t in texts], langs)
    return {
        "texts": len(texts),
        "relevant": sum(p.relevant for p in plain),
        "relevant masked": sum(m.relevant for m in masked),
        "relevance changed": sum(p.relevant != m.relevant for p, m in zip(plain, masked)),
        "stance changed": sum(p.stance != m.stance for p, m in zip(plain, masked)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=400, help="X-style texts to classify (default 400).")
    args = parser.parse_args()
    seed = load_seed_set()
    demo = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    written = [(e["text"], e.get("lang") or "en") for e in seed + demo if "@" in e["text"]]
    styled = [(as_x_handles(e["text"]), e["lang"]) for e in seed if e.get("relevant")]
    styled = [(t, lang) for t, lang in styled if "@" in t][: args.limit]
    classifier = load_post_classifier()
    for name, rows in (("as written", written), ("X-style", styled)):
        if not rows:
            print(f"{name}: no texts with mentions")
            continue
        result = compare(classifier, [t for t, _ in rows], [lang for _, lang in rows])
        print(f"{name}: " + ", ".join(f"{key} {value}" for key, value in result.items()))


if __name__ == "__main__":
    main()
