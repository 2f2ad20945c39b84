"""Sentiment: a BERT-style encoder on the UCI Sentiment Labelled Sentences (real data), 3 stages.

Token + position embedding and one pre-LN encoder block | one block | one block, LayerNorm, mean
over real tokens, classifier. Width 256, 4 heads, FFN 1024: at this size dynamic int8 and bf16 are
faster than fp32 on this CPU (smaller ones were slower). Sequences are 64 tokens (CLS + up to 63
words; 99.9% of the sentences fit), with the attention mask as a side input.

Training trims each batch to its longest sentence and groups sentences of similar length
(`train_length_bucketed`): the same model and loss as the generic trainer, without computing on
padding, and computes its matrix products in bf16 (~3x faster here; weights stay float32). Data
cleaning, split and tokenizer: `sentiment_sentences.py`.
"""

import math
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/zoo, for `tasks`
from sparseloom_zoo import ZooSpec  # noqa: E402
from sparseloom_zoo.blocks import TransformerBlock  # noqa: E402
from tasks import bf16_matmuls  # noqa: E402
from tasks import sentiment_sentences as sentences  # noqa: E402

SEQ, DIM, HEADS, FFN = 64, 256, 4, 1024
TEST_FRACTION = 0.2
WORD_DROPOUT = 0.1  # training only: a word becomes UNK with this probability


class Embed(nn.Module):
    """Stage 1: token + learned position embeddings (dropout in training), one encoder block."""

    def __init__(self, vocab: int):
        super().__init__()
        self.tokens = nn.Embedding(vocab, DIM, padding_idx=sentences.PAD)
        self.positions = nn.Parameter(torch.randn(SEQ, DIM) * 0.02)
        self.dropout = nn.Dropout(0.1)
        self.block = TransformerBlock(DIM, HEADS, FFN)

    def forward(self, x, mask):
        h = self.tokens(x) + self.positions[: x.shape[1]]
        return self.block(self.dropout(h), mask)


class Classify(nn.Module):
    """Stage 3: one encoder block, LayerNorm, mean over real tokens, classifier."""

    def __init__(self):
        super().__init__()
        self.block = TransformerBlock(DIM, HEADS, FFN)
        self.norm = nn.LayerNorm(DIM)
        self.fc = nn.Linear(DIM, 2)

    def forward(self, x, mask):
        h = self.norm(self.block(x, mask))
        weights = mask.to(h.dtype)[:, :, None]
        return self.fc((h * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0))


def train_length_bucketed(model, data, epochs, lr, seed, batch_size=32):
    """AdamW + cosine lr like the generic trainer, on batches of similar-length sentences, each
    cut to its longest sentence, with word dropout; matrix products in bf16 (`bf16_matmuls`)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = data["mask"].sum(dim=1)
    n = len(lengths)
    steps = epochs * math.ceil(n / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                   pct_start=0.1)
    model.train()
    for _ in range(epochs):
        # Sort by length plus noise, cut into batches, shuffle the batches.
        noisy = lengths.float() + 4 * torch.rand(n, generator=generator)
        order = torch.argsort(noisy)
        chunks = [order[i:i + batch_size] for i in range(0, n, batch_size)]
        for c in torch.randperm(len(chunks), generator=generator).tolist():
            idx = chunks[c]
            width = int(lengths[idx].max())
            x, mask = data["input"][idx, :width].clone(), data["mask"][idx, :width]
            drop = (torch.rand(x.shape, generator=generator) < WORD_DROPOUT) & mask
            drop[:, 0] = False  # keep CLS
            x[drop] = sentences.UNK
            optimizer.zero_grad(set_to_none=True)
            with bf16_matmuls():
                logits = model(x, mask)
            F.cross_entropy(logits, data["labels"][idx]).backward()
            optimizer.step()
            schedule.step()
    model.eval()


def load_data(seed: int):
    """(train, validation) dicts and the vocabulary size."""
    train_rows, test_rows = sentences.stratified_split(sentences.load_sentences(),
                                                       TEST_FRACTION, seed)
    vocab = sentences.build_vocab([r[0] for r in train_rows])

    def tensors(rows):
        ids, mask = sentences.encode([r[0] for r in rows], vocab, SEQ)
        return {"input": torch.from_numpy(ids), "mask": torch.from_numpy(mask),
                "labels": torch.tensor([r[1] for r in rows], dtype=torch.int64)}

    return tensors(train_rows), tensors(test_rows), len(vocab) + 3


def make_spec(seed: int) -> ZooSpec:
    train, validation, vocab = load_data(seed)
    torch.manual_seed(seed)
    stages = [Embed(vocab), TransformerBlock(DIM, HEADS, FFN), Classify()]
    return ZooSpec(task="sentiment-bert", family="bert", stages=stages, side_inputs=["mask"],
                   train=train, validation=validation, epochs=8, lr=5e-4, batch_size=32,
                   finetune_epochs=2, finetune_lr=2e-4, train_fn=train_length_bucketed)
