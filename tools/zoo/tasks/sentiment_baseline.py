"""The bag-of-words baseline for the sentiment task: L2-regularised logistic regression on binary
word-presence features (same split, tokenizer and vocabulary as the zoo), full-batch L-BFGS.

    cd tools/zoo && /usr/bin/python3 -m tasks.sentiment_baseline [--seed 0]
"""

import argparse

import torch

from tasks import sentiment_bert


def bag_of_words(data, vocab: int) -> torch.Tensor:
    x = torch.zeros(data["input"].shape[0], vocab)
    x.scatter_(1, data["input"], 1.0)
    x[:, :3] = 0.0  # PAD, UNK, CLS are not words
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--l2", type=float, default=1e-2)
    args = parser.parse_args()
    train, test, vocab = sentiment_bert.load_data(args.seed)
    x_train, x_test = bag_of_words(train, vocab), bag_of_words(test, vocab)
    linear = torch.nn.Linear(vocab, 2)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(x_train), train["labels"])
        loss = loss + args.l2 * linear.weight.pow(2).sum() / 2
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        accuracy = (linear(x_test).argmax(1) == test["labels"]).float().mean().item()
    print(f"bag-of-words logistic regression (l2 {args.l2}): test accuracy {accuracy:.4f} "
          f"on {len(test['labels'])} sentences, {len(train['labels'])} train, vocab {vocab}")


if __name__ == "__main__":
    main()
