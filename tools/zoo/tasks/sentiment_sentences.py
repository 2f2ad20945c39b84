"""The UCI "Sentiment Labelled Sentences" (Kotzias et al., KDD 2015): 1,000 sentences each from
IMDB, Yelp and Amazon reviews, labelled positive (1) or negative (0). The npm package
`sentiment@5.0.2` ships them as test/fixtures/{amazon,imdb,yelp}.json; scripts/fetch_data.sh
copies those three files to data/sentiment/.

Cleaning: each file ends with an empty record (`{"text": "", "class": null}`), dropped; sentences
that occur more than once (after lower-casing and collapsing spaces) are kept once, and dropped
altogether when their copies disagree on the label. Split: stratified by (source, label), 80%
train / 20% test, with a fixed seed.

Tokenizer (`tokenize`): lower-case, then words are runs of letters with inner apostrophes
("didn't" stays one word), and each of ``! ?`` is a token of its own; digits and other
punctuation are dropped. The vocabulary is built from the training split only (words seen at least
twice); others map to UNK.
"""

import json
import re
from collections import Counter
from typing import Dict, List, Tuple

import numpy as np

from . import data_dir, require

SOURCES = ["amazon", "imdb", "yelp"]
PAD, UNK, CLS = 0, 1, 2  # CLS starts every sequence, so no sequence is empty
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|[!?]")


def tokenize(text: str) -> List[str]:
    return _TOKEN.findall(text.lower())


def load_sentences() -> List[Tuple[str, int, str]]:
    """(text, label, source) of every distinct, consistently labelled sentence."""
    seen: Dict[str, Tuple[str, int, str]] = {}
    conflicting = set()
    for source in SOURCES:
        records = json.loads(require(data_dir() / "sentiment" / f"{source}.json").read_text())
        for r in records:
            text = " ".join(str(r.get("text") or "").split())
            if not text or r.get("class") not in (0, 1):
                continue  # the empty trailing record
            key = text.lower()
            if key in seen and seen[key][1] != r["class"]:
                conflicting.add(key)
            seen.setdefault(key, (text, int(r["class"]), source))
    return [v for k, v in seen.items() if k not in conflicting]


def stratified_split(rows, test_fraction: float, seed: int):
    """(train, test) lists, each (source, label) group split in the same proportion."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for group in sorted({(r[2], r[1]) for r in rows}):
        members = [r for r in rows if (r[2], r[1]) == group]
        order = rng.permutation(len(members))
        n_test = int(round(len(members) * test_fraction))
        test += [members[i] for i in order[:n_test]]
        train += [members[i] for i in order[n_test:]]
    return train, test


def build_vocab(texts: List[str], min_count: int = 2) -> Dict[str, int]:
    counts = Counter(t for text in texts for t in tokenize(text))
    words = sorted(w for w, c in counts.items() if c >= min_count)
    return {w: i + 3 for i, w in enumerate(words)}


def encode(texts: List[str], vocab: Dict[str, int], length: int):
    """token ids int64 [N, length] (CLS, words..., PAD) and mask bool [N, length]."""
    ids = np.full((len(texts), length), PAD, dtype=np.int64)
    for i, text in enumerate(texts):
        seq = [CLS] + [vocab.get(t, UNK) for t in tokenize(text)]
        seq = seq[:length]
        ids[i, :len(seq)] = seq
    return ids, ids != PAD
