# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Week 09 (second half) — Language models with Hugging Face, offline; metrics for LLMs from scratch
#
# The first half of the week built recurrent networks by hand. This half uses the
# **Hugging Face** `transformers` library the way the industry does — tokenizers, models built
# from a configuration, fine-tuning, saving and loading, generation — and then measures language
# models with the metrics the field uses: accuracy/precision/recall/F1, entropy and perplexity,
# BLEU, ROUGE and exact match. Every metric you write yourself.
#
# **Offline on purpose.** The course text downloads `bert-base-uncased`, `gpt2`, `imdb` and the
# `evaluate` metric scripts from the Hugging Face Hub. The grader has no network, so we build
# everything locally: a WordPiece tokenizer from our own vocabulary, *tiny* models from a
# `BertConfig` / `GPT2Config` with random weights, and a generated sentiment data set. The
# mechanics are exactly the ones you would use with a pretrained checkpoint; only the weights
# are missing.
#
# This notebook:
#
# 1. prompts: the exact strings of a review prompt and an n-shot prompt;
# 2. a tokenizer trained from our vocabulary, padding, truncation and attention masks;
# 3. a tiny BERT classifier: the learning-rate schedule `Trainer` uses, fine-tuning with your own
#    loop and then with `transformers.Trainer` (its v5 argument names, a `compute_metrics`),
#    saving and loading, inference with a label map, partial fine-tuning by freezing;
# 4. decoder-only generation: a greedy loop that matches `model.generate`;
# 5. metrics: classification metrics, entropy and perplexity, BLEU, ROUGE-N/ROUGE-L, exact match.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Keep the names and arguments of the functions: the grader
# calls them by name, on inputs of its own, and compares with PyTorch, scikit-learn and
# torchmetrics. Run the notebook top to bottom; the *Check* cells test a few cases for you.

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0             # seed for every random number generator used below
FAST = False         # True: fewer training rows and epochs (used while grading)
DEVICE = "cpu"       # "cuda" to run the models on a GPU
DATA_DIR = "data"    # not used: every piece of data is generated here
MAX_LENGTH = 12      # tokens per sentence after padding/truncation
N_TRAIN = 400        # generated training sentences in the full run (FAST uses fewer)
EPOCHS = 4           # fine-tuning epochs in the full run (FAST uses fewer)
BATCH_SIZE = 8

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import os
import random
import re
from collections import Counter

import accelerate  # noqa: F401  transformers.Trainer runs on it: a missing install fails here, clearly
import numpy as np
import torch
import torch.nn.functional as F
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, BertConfig,
                          BertForSequenceClassification, EvalPrediction, GPT2Config, GPT2LMHeadModel,
                          PreTrainedTokenizerFast, Trainer, TrainingArguments)

os.environ.setdefault("HF_HUB_OFFLINE", "1")     # never reach for the Hub
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()   # no 'Loading weights' bars in the output
torch.manual_seed(SEED)
random.seed(SEED)
np.random.seed(SEED)
print("transformers", transformers.__version__, "| torch", torch.__version__, "| device", DEVICE)

# %% [markdown] nbgrader={"grade": false, "grade_id": "prompts_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Prompts are strings
#
# A generative model continues the text it is given, so *how* you write the prompt steers what
# comes back (**prompt engineering**): a vague prompt gives a vague continuation. The course's
# book-shop prompt puts a header before each part and a blank line between them:
#
# ```text
# Book review:
# This book was great. I enjoyed the plot twist in Chapter 10.
#
# Book shop response to the review:
# Dear reader, thank you for your review.
# ```
#
# **n-shot prompting** shows the model solved examples inside the prompt: *zero-shot* has none,
# *one-shot* one, *few-shot* several. Our format (the course's, made exact): the instruction on
# the first line; then `Example:` when there is one example or `Examples:` when there are
# several (no such line for zero-shot); one line per example, `Text: "<text>" Sentiment: <label>`;
# and last the query, `Text: "<query>" Sentiment:` (nothing after the colon: the model fills it
# in). Lines are joined with `"\n"`, with no newline at the start or the end.

# %% nbgrader={"grade": false, "grade_id": "prompts", "locked": false, "schema_version": 3, "solution": true}
def build_review_prompt(review: str, response: str) -> str:
    """The book-shop prompt: 'Book review:', the review, a blank line, 'Book shop response to the review:', the response."""
    ### BEGIN SOLUTION
    return f"Book review:\n{review}\n\nBook shop response to the review:\n{response}"
    ### END SOLUTION


def build_few_shot_prompt(instruction: str, examples: list, query: str) -> str:
    """An n-shot classification prompt; `examples` is a list of (text, label) pairs."""
    ### BEGIN SOLUTION
    lines = [instruction]
    if examples:
        lines.append("Example:" if len(examples) == 1 else "Examples:")
        for text, label in examples:
            lines.append(f'Text: "{text}" Sentiment: {label}')
    lines.append(f'Text: "{query}" Sentiment:')
    return "\n".join(lines)
    ### END SOLUTION


def shot_type(examples: list) -> str:
    """'zero-shot', 'one-shot' or 'few-shot' for a list of examples."""
    ### BEGIN SOLUTION
    if len(examples) == 0:
        return "zero-shot"
    return "one-shot" if len(examples) == 1 else "few-shot"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_prompts", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_p = build_review_prompt("This book was great. I enjoyed the plot twist in Chapter 10.",
                         "Dear reader, thank you for your review.")
assert _p == ("Book review:\nThis book was great. I enjoyed the plot twist in Chapter 10.\n\n"
              "Book shop response to the review:\nDear reader, thank you for your review."), repr(_p)
_p = build_few_shot_prompt("Classify the sentiment of this sentence as either Positive or Negative.",
                           [("I'm feeling great today!", "Positive")], "The weather today is lovely.")
assert _p == ('Classify the sentiment of this sentence as either Positive or Negative.\nExample:\n'
              'Text: "I\'m feeling great today!" Sentiment: Positive\n'
              'Text: "The weather today is lovely." Sentiment:'), repr(_p)
assert shot_type([]) == "zero-shot" and shot_type([("a", "b")]) == "one-shot", "shot_type"
print(_p)

# %% [markdown] nbgrader={"grade": false, "grade_id": "data_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. A tokenizer of our own
#
# The course loads IMDB movie reviews and the `bert-base-uncased` tokenizer from the Hub. We
# generate short reviews instead: each sentence mixes neutral words with positive or negative
# ones, and its label is 1 (positive) or 0 (negative). The cell below makes them.

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false}
POSITIVE = ["great", "wonderful", "brilliant", "lovely", "superb", "enjoyable", "best", "fun"]
NEGATIVE = ["awful", "boring", "terrible", "dull", "worst", "disappointing", "bad", "weak"]
NEUTRAL = ["the", "movie", "film", "plot", "was", "is", "a", "acting", "story", "this", "really",
           "and", "cast", "ending", "music", "quite"]


def make_reviews(n: int, seed: int) -> tuple[list[str], list[int]]:
    """n generated reviews and their labels (1 positive, 0 negative), from a seeded generator."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = rng.choices(NEUTRAL, k=rng.randint(2, 4))
        for _ in range(rng.randint(2, 3)):
            words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", "..."]))
        labels.append(label)
    return texts, labels


n_train = 128 if FAST else N_TRAIN
train_texts, train_labels = make_reviews(n_train, SEED)
test_texts, test_labels = make_reviews(100, SEED + 1)
print(len(train_texts), "training reviews, for example:", train_texts[:3], train_labels[:3])

# %% [markdown] nbgrader={"grade": false, "grade_id": "vocab_md", "locked": true, "schema_version": 3, "solution": false}
# BERT splits text into **WordPiece** tokens from a fixed vocabulary, lowercases it, and cuts
# punctuation into tokens of its own (`"great!"` → `great`, `!`). Four **special tokens** come
# first: `[PAD]` (id 0) fills short sentences, `[UNK]` (1) replaces words the vocabulary lacks,
# `[CLS]` (2) opens every sequence (its final hidden state feeds the classifier) and `[SEP]` (3)
# closes it.
#
# **Your task:** `build_vocab(texts, min_freq)` returns the vocabulary as a dict
# `token -> id`: the four special tokens with ids 0-3, then every token that occurs at least
# `min_freq` times in the lowercased texts, most frequent first (ties in alphabetical order),
# with ids 4, 5, ... Split a text into tokens with `re.findall(r"\w+|[^\w\s]", text.lower())`
# (words, and each punctuation character on its own: what BERT's pre-tokenizer does).

# %% nbgrader={"grade": false, "grade_id": "vocab", "locked": false, "schema_version": 3, "solution": true}
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]


def build_vocab(texts: list[str], min_freq: int = 1) -> dict[str, int]:
    """Special tokens (ids 0-3), then the tokens seen at least min_freq times, most frequent first."""
    ### BEGIN SOLUTION
    counts = Counter(tok for text in texts for tok in re.findall(r"\w+|[^\w\s]", text.lower()))
    kept = sorted((tok for tok, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for tok in kept:
        vocab[tok] = len(vocab)
    return vocab
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_vocab", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_v = build_vocab(["Good movie!", "good, GOOD film", "bad"], min_freq=1)
assert _v == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "good": 4, "!": 5, ",": 6, "bad": 7,
              "film": 8, "movie": 9}, f"build_vocab gave {_v}"
assert build_vocab(["Good movie!", "good, GOOD film", "bad"], min_freq=2) == {
    "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "good": 4}, "min_freq=2 keeps only 'good'"
vocab = build_vocab(train_texts, min_freq=1)
print(len(vocab), "tokens:", list(vocab)[:12])

# %% [markdown] nbgrader={"grade": false, "grade_id": "tokenizer_md", "locked": true, "schema_version": 3, "solution": false}
# **A version trap.** The natural way to turn a vocabulary file into a BERT tokenizer,
# `BertTokenizer(vocab_file="vocab.txt")`, worked in `transformers` 4 but in version 5 the
# `vocab_file` argument is **silently ignored**: every word becomes `[UNK]`, with no error (try
# it). Version 5 wants `BertTokenizer(vocab=path_or_dict)`, which version 4 rejects. The way that
# works in both is the one below: describe the tokenizer with the `tokenizers` library (the fast
# Rust library under every HF tokenizer) — a WordPiece model over our vocabulary, BERT's
# normaliser (lowercasing) and pre-tokenizer (split on spaces and punctuation), and a
# post-processor that wraps every sentence in `[CLS] ... [SEP]` — then wrap it in
# `PreTrainedTokenizerFast`, which gives it the usual HF interface (`tokenizer(texts, ...)`,
# `save_pretrained`, `decode`).

# %% nbgrader={"grade": false, "grade_id": "tokenizer", "locked": true, "schema_version": 3, "solution": false}
def make_tokenizer(vocab: dict[str, int]) -> PreTrainedTokenizerFast:
    """A BERT-style WordPiece tokenizer over `vocab`, built offline (works in transformers 4 and 5)."""
    wordpiece = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=wordpiece, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]")


tokenizer = make_tokenizer(vocab)
print(tokenizer("This movie was GREAT!"))
print(tokenizer.convert_ids_to_tokens(tokenizer("This movie was GREAT, zzz!")["input_ids"]))

# %% [markdown] nbgrader={"grade": false, "grade_id": "encode_md", "locked": true, "schema_version": 3, "solution": false}
# A batch is one rectangular tensor, so sentences must have one length. **Truncation** cuts a
# long sentence to `max_length` tokens (the `[SEP]` stays at the end); **padding** fills a short
# one with `[PAD]` (id 0) up to `max_length`. The **attention mask** says which positions are
# real (1) and which are padding (0), so attention ignores the padding. `padding=True` pads only
# to the longest sentence of the batch; for one fixed length use `padding="max_length"`.
#
# **Your task:** `encode_batch(tokenizer, texts, max_length)` returns a dict with
# `"input_ids"` and `"attention_mask"`, both `torch.long` tensors of shape
# `(len(texts), max_length)`: special tokens added, truncated and padded to exactly `max_length`.

# %% nbgrader={"grade": false, "grade_id": "encode", "locked": false, "schema_version": 3, "solution": true}
def encode_batch(tokenizer, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    """input_ids and attention_mask, (N, max_length) long tensors: [CLS] ... [SEP], truncated and padded."""
    ### BEGIN SOLUTION
    enc = tokenizer(list(texts), padding="max_length", truncation=True, max_length=max_length,
                    return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_encode", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_tok = make_tokenizer({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "good": 4, "movie": 5, "!": 6})
_e = encode_batch(_tok, ["Good movie!", "good good good good good good movie"], max_length=6)
assert _e["input_ids"].tolist() == [[2, 4, 5, 6, 3, 0], [2, 4, 4, 4, 4, 3]], _e["input_ids"].tolist()
assert _e["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0], [1] * 6], _e["attention_mask"].tolist()
assert _e["input_ids"].dtype == torch.long, "input_ids should be torch.long"
_e = encode_batch(_tok, ["good", "movie!"], max_length=6)
assert _e["input_ids"].tolist() == [[2, 4, 3, 0, 0, 0], [2, 5, 6, 3, 0, 0]], f"pad to max_length: {_e['input_ids'].tolist()}"
train_enc = encode_batch(tokenizer, train_texts, MAX_LENGTH)
test_enc = encode_batch(tokenizer, test_texts, MAX_LENGTH)
print({k: tuple(v.shape) for k, v in train_enc.items()})

# %% [markdown] nbgrader={"grade": false, "grade_id": "model_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. A tiny BERT classifier, fine-tuned
#
# `AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)` would
# download 110 M trained parameters. Built from a **configuration** instead, the same class gets
# random weights and any size we like: here 2 layers of width 32 (about 30 k parameters). The
# head is `model.classifier`, a linear layer from the `[CLS]` vector (after the pooler) to one
# logit per label.

# %% nbgrader={"grade": false, "grade_id": "model", "locked": true, "schema_version": 3, "solution": false}
def tiny_bert_config(vocab_size: int, num_labels: int = 2) -> BertConfig:
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, num_labels=num_labels,
                      id2label={0: "NEGATIVE", 1: "POSITIVE"} if num_labels == 2 else None)


torch.manual_seed(SEED)
model = BertForSequenceClassification(tiny_bert_config(len(vocab))).to(DEVICE)
print(sum(p.numel() for p in model.parameters()), "parameters;", model.classifier)

# %% [markdown] nbgrader={"grade": false, "grade_id": "schedule_md", "locked": true, "schema_version": 3, "solution": false}
# **`Trainer`.** The course fine-tunes with `transformers.Trainer`:
#
# ```python
# args = TrainingArguments(output_dir="./finetuned", eval_strategy="epoch", num_train_epochs=3,
#                          learning_rate=2e-5, per_device_train_batch_size=8,
#                          per_device_eval_batch_size=8, weight_decay=0.01,
#                          report_to="none", save_strategy="no", use_cpu=True)
# trainer = Trainer(model=model, args=args, train_dataset=..., eval_dataset=...,
#                   processing_class=tokenizer)
# trainer.train()
# ```
#
# Use the current argument names: `evaluation_strategy=` and `Trainer(tokenizer=...)` were
# renamed to `eval_strategy=` and `processing_class=`; the old names raise a `TypeError` in
# `transformers` 5. (`Trainer` also needs the `accelerate` package; it is installed here.)
# `trainer.train()` hides a loop, so first you write that loop yourself: **AdamW** with weight
# decay, and a learning rate that falls **linearly** from `learning_rate` to 0 over all the
# optimisation steps (after an optional linear warm-up). Then you hand the same job to `Trainer`
# and compare.
#
# The number of steps is $\lceil n / b\rceil \cdot \text{epochs}$ (the last batch of an epoch may
# be short). The course's log says `global_step=588` with `6250` training rows, batch 8 and 3
# epochs: that does not add up — 6250 rows give $782 \cdot 3 = 2346$ steps; 588 steps mean
# $196$ batches per epoch, i.e. 1563 rows. The printed learning rate at step 500,
# `2.993197278911565e-06`, is $2\cdot10^{-5}\,(1 - 500/588)$: the linear schedule.
#
# **Your tasks:** `num_training_steps(n, batch_size, epochs)`; and `linear_lr(step, total_steps,
# base_lr, warmup_steps=0)`: the learning rate used at optimisation step `step` (0-based):
# `base_lr * step / warmup_steps` while `step < warmup_steps`, then
# `base_lr * (total_steps - step) / (total_steps - warmup_steps)` (never below 0).

# %% nbgrader={"grade": false, "grade_id": "schedule", "locked": false, "schema_version": 3, "solution": true}
def num_training_steps(n: int, batch_size: int, epochs: int) -> int:
    """Optimisation steps of `epochs` passes over n rows in batches of batch_size (last batch kept)."""
    ### BEGIN SOLUTION
    return math.ceil(n / batch_size) * epochs
    ### END SOLUTION


def linear_lr(step: int, total_steps: int, base_lr: float, warmup_steps: int = 0) -> float:
    """Learning rate at 0-based step `step`: linear warm-up, then linear decay to 0 at total_steps."""
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    return base_lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_schedule", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert num_training_steps(1563, 8, 3) == 588 and num_training_steps(6250, 8, 3) == 2346, "ceil(n / b) * epochs"
assert abs(linear_lr(500, 588, 2e-5) - 2.993197278911565e-06) < 1e-15, linear_lr(500, 588, 2e-5)
assert linear_lr(0, 10, 1.0, warmup_steps=2) == 0.0 and linear_lr(1, 10, 1.0, warmup_steps=2) == 0.5, "warm-up"
assert linear_lr(2, 10, 1.0, warmup_steps=2) == 1.0 and linear_lr(6, 10, 1.0, warmup_steps=2) == 0.5, "decay"

# %% [markdown] nbgrader={"grade": false, "grade_id": "finetune_md", "locked": true, "schema_version": 3, "solution": false}
# **Your task:** `fine_tune(model, enc, labels, epochs, batch_size, lr, weight_decay=0.01,
# seed=0)` trains `model` in place the way `Trainer` does and returns a history dict with the
# training loss (`"loss"`, a float per step) and the learning rate used at each step (`"lr"`):
#
# * `model.train()` (dropout on); the optimiser is `torch.optim.AdamW(model.parameters(), lr=lr,
#   weight_decay=weight_decay)`;
# * each epoch draws a new order of the rows with `torch.randperm(n, generator=gen)`, where
#   `gen = torch.Generator().manual_seed(seed)` is made once, before the first epoch (on the CPU,
#   so the order is the same on every device), and walks through it in batches of `batch_size`;
# * each step: set every parameter group's `"lr"` to `linear_lr(step, total, lr)`, zero the
#   gradients, run `model(input_ids=..., attention_mask=..., labels=...)` (a HF model given
#   `labels` returns the cross-entropy as `.loss`), backward, step.
#
# Move each batch to the model's device.

# %% nbgrader={"grade": false, "grade_id": "finetune", "locked": false, "schema_version": 3, "solution": true}
def fine_tune(model, enc: dict, labels, epochs: int, batch_size: int, lr: float,
              weight_decay: float = 0.01, seed: int = 0) -> dict:
    """Train in place with AdamW and a linear schedule; return {"loss": [...], "lr": [...]} per step."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    labels = torch.as_tensor(labels, dtype=torch.long)
    n = labels.shape[0]
    total = num_training_steps(n, batch_size, epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history = {"loss": [], "lr": []}
    model.train()
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            step_lr = linear_lr(step, total, lr)
            for group in optimizer.param_groups:
                group["lr"] = step_lr
            optimizer.zero_grad()
            out = model(input_ids=enc["input_ids"][idx].to(device),
                        attention_mask=enc["attention_mask"][idx].to(device),
                        labels=labels[idx].to(device))
            out.loss.backward()
            optimizer.step()
            history["loss"].append(out.loss.item())
            history["lr"].append(step_lr)
            step += 1
    return history
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "finetune_run", "locked": true, "schema_version": 3, "solution": false}
epochs = 3 if FAST else EPOCHS
history = fine_tune(model, train_enc, train_labels, epochs=epochs, batch_size=BATCH_SIZE, lr=5e-3, seed=SEED)
print(len(history["loss"]), "steps; loss", round(history["loss"][0], 3), "->", round(history["loss"][-1], 3))
model.eval()
with torch.no_grad():
    _logits = model(**{k: v.to(DEVICE) for k, v in test_enc.items()}).logits
test_accuracy = (_logits.argmax(dim=1).cpu() == torch.tensor(test_labels)).float().mean().item()
print("accuracy on the generated test reviews:", test_accuracy)

# %% nbgrader={"grade": true, "grade_id": "check_finetune", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(history["loss"]) == num_training_steps(n_train, BATCH_SIZE, epochs), "one loss per optimisation step"
assert history["lr"][0] == 5e-3 and history["lr"][-1] < 5e-3 / len(history["lr"]) * 1.01, "linear decay from lr"
assert test_accuracy > 0.85, f"the fine-tuned tiny BERT should classify most test reviews, got {test_accuracy:.2f}"

# %% [markdown] nbgrader={"grade": false, "grade_id": "trainer_md", "locked": true, "schema_version": 3, "solution": false}
# ### The same job with `Trainer`
#
# `transformers.Trainer` runs the loop you just wrote — AdamW with weight decay, the linear
# schedule from `learning_rate` down to 0 (`lr_scheduler_type="linear"`, no warm-up by default),
# a fresh shuffle of the rows every epoch, `zero_grad`/`backward`/`step` — and adds what a real
# project needs around it: evaluation, logging, checkpoints, devices, mixed precision. It is
# configured by a `TrainingArguments` object and fed **datasets**: anything with `len()` and
# indexing whose items are dicts of the model's inputs plus `"labels"` (`ReviewDataset` below
# wraps our encoded tensors that way).
#
# `Trainer` reports the evaluation loss by itself; any other metric comes from a function you
# give it, `compute_metrics(eval_pred)`. After each evaluation pass it calls it with an
# `EvalPrediction`: `eval_pred.predictions` are the logits of all the evaluation rows, a NumPy
# array of shape `(N, num_labels)`, and `eval_pred.label_ids` the `N` true labels. It unpacks
# like a pair, `logits, labels = eval_pred`, which also works when you call it with a plain
# `(logits, labels)` tuple. The predicted class is the arg-max over the **last** axis (the
# classes), not over the rows. `Trainer` logs each key with `eval_` in front: `eval_accuracy`.
#
# Version 5 names (the course's notebook uses some removed ones):
#
# | what | transformers 4 | transformers 5 |
# |---|---|---|
# | when to evaluate | `evaluation_strategy="epoch"` | `eval_strategy="epoch"` (the old name: `TypeError`) |
# | the tokenizer given to `Trainer` | `tokenizer=tokenizer` | `processing_class=tokenizer` (the old name: `TypeError`) |
# | train on the CPU | `no_cuda=True` | `use_cpu=True` |
# | no tracking service | `report_to="none"` (the default was "all") | `report_to="none"` (now the default) |
#
# `save_strategy` defaults to `"steps"`: a checkpoint folder every 500 steps, tens of megabytes
# each for a real model. We save nothing (`"no"`) and use `save_pretrained` ourselves. Give
# `Trainer` its arguments **by keyword**: its third positional parameter is `data_collator`, not
# the training set.
#
# **Your tasks:**
#
# * `make_training_args(output_dir, learning_rate, epochs, batch_size, seed, device="cpu")`
#   returns a `TrainingArguments` with that `output_dir`, `learning_rate`, `num_train_epochs=epochs`,
#   `per_device_train_batch_size` and `per_device_eval_batch_size` both `batch_size`, `seed`,
#   `weight_decay=0.01`, `eval_strategy="epoch"` and `logging_strategy="epoch"` (evaluate and log
#   once per epoch), `save_strategy="no"`, `report_to="none"`, `use_cpu=True` exactly when
#   `device == "cpu"`, and `disable_tqdm=True` (no progress bars).
# * `compute_metrics(eval_pred)` returns `{"accuracy": ..., "f1": ...}` (Python floats): the
#   fraction of rows whose arg-max logit (the first one on a tie) is the label, and the **macro**
#   F1 — the F1 of each class, $2TP / (2TP + FP + FN)$, averaged over the classes that occur in
#   the labels or the predictions (scikit-learn's `f1_score(..., average="macro")`).
# * `make_trainer(model, args, train_dataset, eval_dataset, tokenizer)` returns the `Trainer`
#   with the model, the arguments, both datasets, `processing_class=tokenizer` and your
#   `compute_metrics`.

# %% nbgrader={"grade": false, "grade_id": "trainer_data", "locked": true, "schema_version": 3, "solution": false}
class ReviewDataset(torch.utils.data.Dataset):
    """The rows of an encoded batch as Trainer wants them: dicts of input_ids, attention_mask, labels."""

    def __init__(self, enc: dict, labels):
        self.enc, self.labels = enc, torch.as_tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.enc["input_ids"][i], "attention_mask": self.enc["attention_mask"][i],
                "labels": self.labels[i]}


train_dataset, eval_dataset = ReviewDataset(train_enc, train_labels), ReviewDataset(test_enc, test_labels)
print(len(train_dataset), "training rows; the first:", train_dataset[0])

# %% nbgrader={"grade": false, "grade_id": "trainer", "locked": false, "schema_version": 3, "solution": true}
def make_training_args(output_dir: str, learning_rate: float, epochs: int, batch_size: int, seed: int,
                       device: str = "cpu") -> TrainingArguments:
    """TrainingArguments (v5 names): evaluate and log every epoch, save nothing, no tracker, CPU if device is 'cpu'."""
    ### BEGIN SOLUTION
    return TrainingArguments(
        output_dir=output_dir, learning_rate=learning_rate, num_train_epochs=epochs,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size, seed=seed,
        weight_decay=0.01, eval_strategy="epoch", logging_strategy="epoch", save_strategy="no",
        report_to="none", use_cpu=device == "cpu", disable_tqdm=True)
    ### END SOLUTION


def compute_metrics(eval_pred) -> dict[str, float]:
    """Accuracy and macro F1 of the arg-max predictions; eval_pred is an EvalPrediction or a (logits, labels) pair."""
    ### BEGIN SOLUTION
    logits, labels = eval_pred
    preds = np.asarray(logits).argmax(axis=-1)
    labels = np.asarray(labels)
    f1s = []
    for c in np.union1d(labels, preds):
        tp = np.sum((preds == c) & (labels == c))
        fp = np.sum((preds == c) & (labels != c))
        fn = np.sum((preds != c) & (labels == c))
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"accuracy": float(np.mean(preds == labels)), "f1": float(np.mean(f1s))}
    ### END SOLUTION


def make_trainer(model, args: TrainingArguments, train_dataset, eval_dataset, tokenizer) -> Trainer:
    """A Trainer over the two datasets, with processing_class=tokenizer and compute_metrics."""
    ### BEGIN SOLUTION
    return Trainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                   processing_class=tokenizer, compute_metrics=compute_metrics)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_trainer", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_args = make_training_args("trainer_output", learning_rate=3e-4, epochs=2, batch_size=4, seed=5)
assert (_args.learning_rate, _args.num_train_epochs, _args.per_device_train_batch_size, _args.seed) == (3e-4, 2, 4, 5), \
    "learning_rate, num_train_epochs, per_device_train_batch_size and seed come from the arguments"
assert _args.eval_strategy == "epoch" and _args.save_strategy == "no" and _args.use_cpu, \
    f"eval_strategy={_args.eval_strategy}, save_strategy={_args.save_strategy}, use_cpu={_args.use_cpu}"
_m = compute_metrics(EvalPrediction(predictions=np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0], [0.5, 0.2]]),
                                    label_ids=np.array([0, 1, 1, 1])))
assert abs(_m["accuracy"] - 0.5) < 1e-12 and abs(_m["f1"] - 0.5) < 1e-12, \
    f"rows 1 and 2 right, row 3 a tie (class 0), row 4 class 0: accuracy 0.5, F1 of both classes 0.5; got {_m}"
_t = make_trainer(BertForSequenceClassification(tiny_bert_config(len(vocab))), _args, train_dataset, eval_dataset,
                  tokenizer)   # a throw-away model: Trainer moves the model it gets to args.device (here the CPU)
assert _t.processing_class is tokenizer and _t.compute_metrics is not None and _t.train_dataset is train_dataset, \
    "Trainer(model=..., args=..., train_dataset=..., eval_dataset=..., processing_class=..., compute_metrics=...)"

# %% [markdown] nbgrader={"grade": false, "grade_id": "trainer_run_md", "locked": true, "schema_version": 3, "solution": false}
# Now `Trainer` fine-tunes a fresh tiny BERT — same initial weights, learning rate, batch size and
# number of epochs as your loop — and evaluates it on the test reviews before and after. Its
# shuffling differs from yours (it draws the order from its own seeded sampler), so the losses
# are not the same numbers, but they should end up in the same range.

# %% nbgrader={"grade": false, "grade_id": "trainer_run", "locked": true, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
trainer_model = BertForSequenceClassification(tiny_bert_config(len(vocab))).to(DEVICE)
trainer = make_trainer(trainer_model, make_training_args("trainer_output", learning_rate=5e-3, epochs=epochs,
                                                         batch_size=BATCH_SIZE, seed=SEED, device=DEVICE),
                       train_dataset, eval_dataset, tokenizer)
before = trainer.evaluate()
trainer.train()
after = trainer.evaluate()
_per_epoch = num_training_steps(n_train, BATCH_SIZE, 1)
_loop_last = float(np.mean(history["loss"][-_per_epoch:]))
_trainer_last = [h["loss"] for h in trainer.state.log_history if "loss" in h][-1]
trainer_model.eval()
with torch.no_grad():
    _logits = trainer_model(**{k: v.to(DEVICE) for k, v in test_enc.items()}).logits
trainer_accuracy = (_logits.argmax(dim=1).cpu() == torch.tensor(test_labels)).float().mean().item()
print(f"evaluation loss {before['eval_loss']:.3f} -> {after['eval_loss']:.3f}; accuracy on the test reviews "
      f"{trainer_accuracy:.2f} (your compute_metrics, through Trainer: {after.get('eval_accuracy')})")
print(f"mean training loss of the last epoch: your loop {_loop_last:.3f}, Trainer {_trainer_last:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_trainer_run", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert after["eval_loss"] < before["eval_loss"], f"the evaluation loss should fall: {before['eval_loss']} -> {after['eval_loss']}"
assert trainer_accuracy > 0.85, f"Trainer's tiny BERT should classify most test reviews, got {trainer_accuracy:.2f}"
assert not os.listdir("trainer_output"), f"save_strategy='no' writes no checkpoint: {os.listdir('trainer_output')}"

# %% [markdown] nbgrader={"grade": false, "grade_id": "inference_md", "locked": true, "schema_version": 3, "solution": false}
# **Saving, loading, predicting.** `model.save_pretrained(folder)` writes `config.json` and the
# weights (`model.safetensors`); `tokenizer.save_pretrained(folder)` writes `tokenizer.json` and
# its settings. `AutoModelForSequenceClassification.from_pretrained(folder)` and
# `AutoTokenizer.from_pretrained(folder)` read them back — a local folder, no Hub involved. The
# reloaded model must give the same logits as the one you saved (`from_pretrained` returns it in
# eval mode).
#
# To predict: tokenise, run the model in **eval mode** (dropout off) under `torch.no_grad()`,
# take the arg-max over the labels (`dim=1`) and translate ids to names with a label map such as
# `{0: "NEGATIVE", 1: "POSITIVE"}`. (The course's loop `for i, predicted_label
# inenumerate(...)` is a typo: `in enumerate`.)
#
# **Your tasks:** `save_and_reload(model, tokenizer, folder)` saves both into `folder` and
# returns `(reloaded_model, reloaded_tokenizer)`, the model on the same device as the one given;
# `predict_labels(model, tokenizer, texts, label_map, max_length)` returns the predicted label
# names (use `encode_batch`).

# %% nbgrader={"grade": false, "grade_id": "inference", "locked": false, "schema_version": 3, "solution": true}
def save_and_reload(model, tokenizer, folder: str):
    """save_pretrained both into folder, then from_pretrained both back (model on model's device)."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    loaded = AutoModelForSequenceClassification.from_pretrained(folder).to(device)
    return loaded, AutoTokenizer.from_pretrained(folder)
    ### END SOLUTION


def predict_labels(model, tokenizer, texts: list[str], label_map: dict, max_length: int) -> list:
    """Label names of the arg-max class for each text (eval mode, no gradients)."""
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    enc = encode_batch(tokenizer, texts, max_length)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=enc["input_ids"].to(device),
                       attention_mask=enc["attention_mask"].to(device)).logits
    return [label_map[i] for i in logits.argmax(dim=1).tolist()]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_inference", "locked": true, "points": 0, "schema_version": 3, "solution": false}
label_map = {0: "NEGATIVE", 1: "POSITIVE"}
print(predict_labels(model, tokenizer, ["This movie was disappointing!", "This is the best movie ever!"],
                     label_map, MAX_LENGTH))
model2, tokenizer2 = save_and_reload(model, tokenizer, "my_finetuned_model_folder")
assert os.path.exists(os.path.join("my_finetuned_model_folder", "config.json")), "config.json was not written"
assert model2 is not model, "save_and_reload should return the model read back from the folder"
with torch.no_grad():
    _enc = encode_batch(tokenizer2, test_texts[:4], MAX_LENGTH)
    assert torch.allclose(model2(**{k: v.to(DEVICE) for k, v in _enc.items()}).logits,
                          model(**{k: v.to(DEVICE) for k, v in _enc.items()}).logits, atol=1e-6), "logits changed"
assert predict_labels(model2, tokenizer2, test_texts[:20], label_map, MAX_LENGTH) == \
    [label_map[i] for i in _logits[:20].argmax(dim=1).tolist()], "predictions of the reloaded model"

# %% [markdown] nbgrader={"grade": false, "grade_id": "freeze_md", "locked": true, "schema_version": 3, "solution": false}
# **Full vs partial fine-tuning.** Full fine-tuning updates every weight: best results, most
# compute and memory. *Partial* fine-tuning fixes most layers (`requires_grad = False`: no
# gradient is computed for them, and the optimiser skips them) and trains only the task-specific
# ones, typically the last. (*Transfer learning* is the wider idea: reuse what a model learned on
# one task for another.)
#
# **Your task:** `freeze_all_but(model, trainable)` sets `requires_grad` of every parameter:
# `True` when its name (from `model.named_parameters()`) starts with one of the prefixes in
# `trainable` followed by a dot (`"classifier"` matches `classifier.weight`; `"bert.pooler"`
# matches `bert.pooler.dense.bias`), `False` otherwise. It returns the number of trainable
# parameter values (elements). For our tiny BERT with only the classifier trainable that is
# $32\cdot 2 + 2 = 66$.

# %% nbgrader={"grade": false, "grade_id": "freeze", "locked": false, "schema_version": 3, "solution": true}
def freeze_all_but(model, trainable: list[str]) -> int:
    """requires_grad only for parameters under the given name prefixes; returns the trainable count."""
    ### BEGIN SOLUTION
    count = 0
    for name, param in model.named_parameters():
        param.requires_grad = any(name.startswith(prefix + ".") for prefix in trainable)
        if param.requires_grad:
            count += param.numel()
    return count
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_freeze", "locked": true, "points": 0, "schema_version": 3, "solution": false}
torch.manual_seed(SEED)
_m = BertForSequenceClassification(tiny_bert_config(len(vocab)))
assert freeze_all_but(_m, ["classifier"]) == 66, "only classifier.weight (2x32) and classifier.bias (2)"
assert [n for n, p in _m.named_parameters() if p.requires_grad] == ["classifier.weight", "classifier.bias"]
_before = {n: p.detach().clone() for n, p in _m.named_parameters()}
fine_tune(_m, {k: v[:32] for k, v in train_enc.items()}, train_labels[:32], epochs=1, batch_size=BATCH_SIZE, lr=1e-2)
_changed = [n for n, p in _m.named_parameters() if not torch.equal(p.detach(), _before[n])]
assert _changed == ["classifier.weight", "classifier.bias"], f"parameters changed by training: {_changed}"
print("trainable with pooler too:", freeze_all_but(_m, ["classifier", "bert.pooler"]))

# %% [markdown] nbgrader={"grade": false, "grade_id": "generate_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. Decoder-only generation
#
# A decoder-only model (GPT) predicts the next token from all the tokens before it. To generate,
# it appends its prediction and runs again. **Greedy** decoding takes the most likely token each
# time. `model.generate(ids, max_length=20)` stops when the whole sequence (prompt + new tokens)
# has 20 tokens, so a 6-token prompt gets 20 − 6 = 14 new tokens — the course's "Number of
# scores: 14": one score vector (logits over the vocabulary, shape `(1, vocab_size)`) per
# generated token. `max_new_tokens=k` counts the new tokens only. Generation also stops at the
# **end-of-sequence** token `eos_token_id` (the course says "or the token `pad_token_id`": that
# one only pads). Our tiny GPT-2 has a vocabulary of 50 and random weights, so its text is
# nonsense, but the bookkeeping is exactly the real one.
#
# **Your task:** `greedy_generate(model, input_ids, max_new_tokens)` appends `max_new_tokens`
# tokens to every row of `input_ids` (shape `(B, T)`, no padding), each the arg-max of the
# model's logits at the last position, and returns the `(B, T + max_new_tokens)` tensor. Run
# the model in eval mode without gradients; recompute on the whole sequence each step (no
# cache). It must equal `model.generate(input_ids, max_new_tokens=..., do_sample=False)` when no
# end-of-sequence token comes out.

# %% nbgrader={"grade": false, "grade_id": "gpt", "locked": true, "schema_version": 3, "solution": false}
def tiny_gpt2_config(vocab_size: int = 50) -> GPT2Config:
    return GPT2Config(vocab_size=vocab_size, n_positions=64, n_embd=32, n_layer=2, n_head=2,
                      bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)


torch.manual_seed(SEED)
gpt = GPT2LMHeadModel(tiny_gpt2_config()).to(DEVICE).eval()
prompt_ids = torch.tensor([[5, 17, 3, 28, 9, 11]], device=DEVICE)
out = gpt.generate(prompt_ids, max_length=20, do_sample=False, output_scores=True, return_dict_in_generate=True,
                   eos_token_id=None)
print("sequence", out.sequences.tolist(), "| scores:", len(out.scores), "of shape", tuple(out.scores[0].shape))


# %% nbgrader={"grade": false, "grade_id": "greedy", "locked": false, "schema_version": 3, "solution": true}
def greedy_generate(model, input_ids: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Append max_new_tokens arg-max tokens to each row of input_ids (eval mode, no gradients)."""
    ### BEGIN SOLUTION
    model.eval()
    ids = input_ids
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = model(ids).logits[:, -1, :]
            ids = torch.cat([ids, logits.argmax(dim=-1, keepdim=True)], dim=1)
    return ids
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_greedy", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert len(out.scores) == 20 - 6 and out.sequences.shape == (1, 20), "max_length counts the prompt too"
_g = greedy_generate(gpt, prompt_ids, 14)
assert _g.tolist() == out.sequences.tolist(), f"greedy loop {_g.tolist()} vs generate {out.sequences.tolist()}"

# %% [markdown] nbgrader={"grade": false, "grade_id": "clf_metrics_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Metrics for language models
#
# The course computes its metrics with `evaluate.load("accuracy")` etc., which fetches each
# metric's script from the Hub (it fails offline). We write them; the grader compares yours with
# scikit-learn, PyTorch and torchmetrics.
#
# **Classification.** With the positive class 1: TP, FP, FN, TN counted from the pairs
# (reference, prediction);
# accuracy $=\frac{TP+TN}{TP+TN+FP+FN}$, precision $=\frac{TP}{TP+FP}$ (of the predicted
# positives, how many are right), recall $=\frac{TP}{TP+FN}$ (of the real positives, how many we
# found), $F_1 = \frac{2PR}{P+R}$. When a denominator is 0 the value is 0.0 (scikit-learn's
# `zero_division=0`). The course's example, references `[0, 1, 0, 1, 1]` and predictions
# `[0, 0, 0, 1, 1]`, gives 0.8, 1.0, 0.6667 and 0.8.
#
# **Your task:** `classification_metrics(references, predictions)` returns
# `{"accuracy": ..., "precision": ..., "recall": ..., "f1": ...}` (floats).

# %% nbgrader={"grade": false, "grade_id": "clf_metrics", "locked": false, "schema_version": 3, "solution": true}
def classification_metrics(references: list[int], predictions: list[int]) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of binary labels (positive class 1; 0.0 when undefined)."""
    ### BEGIN SOLUTION
    pairs = list(zip(references, predictions))
    tp = sum(1 for r, p in pairs if r == 1 and p == 1)
    fp = sum(1 for r, p in pairs if r != 1 and p == 1)
    fn = sum(1 for r, p in pairs if r == 1 and p != 1)
    correct = sum(1 for r, p in pairs if r == p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": correct / len(pairs), "precision": precision, "recall": recall, "f1": f1}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_clf_metrics", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_r = classification_metrics([0, 1, 0, 1, 1], [0, 0, 0, 1, 1])
assert _r == {"accuracy": 0.8, "precision": 1.0, "recall": 2 / 3, "f1": 0.8}, _r
assert classification_metrics([0, 1], [0, 1]) == {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}

# %% [markdown] nbgrader={"grade": false, "grade_id": "entropy_md", "locked": true, "schema_version": 3, "solution": false}
# **Entropy and perplexity.** The entropy of a distribution, in bits,
# $H(p) = -\sum_i p_i \log_2 p_i$ (terms with $p_i = 0$ count 0), is the average surprise.
# Its **perplexity** $PP = 2^{H}$ is the number of equally likely choices that would be just as
# uncertain: a fair coin has $H = 1$, $PP = 2$; a fair 4-sided die $H = 2$, $PP = 4$; a die
# weighted `[0.7, 0.1, 0.1, 0.1]` has $H = 1.3568$ and $PP = 2.5611$ (the course's numbers);
# `[0.97, 0.01, 0.01, 0.01]` is almost certain: $PP = 1.1826$. Lower is better.
#
# For a language model the same idea is measured on text: the model gives each true next token
# $y_t$ a probability; the mean negative log-likelihood
# $\text{NLL} = -\frac1T\sum_t \ln p(y_t)$ is the cross-entropy (in nats), and the
# perplexity is $e^{\text{NLL}}$ (the same number as $2^{H}$ with $H$ in bits). A model that
# guesses uniformly over $V$ tokens has perplexity $V$.
#
# **Your tasks:** `entropy_bits(probs)` (a 1-D list or array of probabilities; 0 entries
# allowed); `perplexity_from_probs(probs)` $= 2^{H}$; `sequence_perplexity(logits, targets)`:
# `logits` of shape `(T, V)` (raw scores, before softmax), `targets` the `T` true token ids;
# returns $e^{\text{NLL}}$ as a float. Use `log_softmax` (stable), not `log(softmax)`.

# %% nbgrader={"grade": false, "grade_id": "entropy", "locked": false, "schema_version": 3, "solution": true}
def entropy_bits(probs) -> float:
    """-sum p log2 p over the non-zero probabilities."""
    ### BEGIN SOLUTION
    p = np.asarray(probs, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())
    ### END SOLUTION


def perplexity_from_probs(probs) -> float:
    """2 ** entropy in bits."""
    ### BEGIN SOLUTION
    return float(2.0 ** entropy_bits(probs))
    ### END SOLUTION


def sequence_perplexity(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """exp of the mean negative log-likelihood of targets (T,) under logits (T, V)."""
    ### BEGIN SOLUTION
    log_probs = F.log_softmax(logits.double(), dim=-1)
    nll = -log_probs.gather(1, targets.long().view(-1, 1)).mean()
    return math.exp(nll.item())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_entropy", "locked": true, "points": 0, "schema_version": 3, "solution": false}
for _probs, _h, _pp in [([0.5, 0.5], 1.0, 2.0), ([1.0], 0.0, 1.0), ([0.25] * 4, 2.0, 4.0),
                        ([0.7, 0.1, 0.1, 0.1], 1.356780, 2.561129), ([0.97, 0.01, 0.01, 0.01], 0.241941, 1.182582),
                        ([0.49, 0.49, 0.01, 0.01], 1.141441, 2.206012)]:
    assert abs(entropy_bits(_probs) - _h) < 1e-5, f"entropy_bits({_probs}) = {entropy_bits(_probs)}, expected {_h}"
    assert abs(perplexity_from_probs(_probs) - _pp) < 1e-5, f"perplexity_from_probs({_probs}), expected {_pp}"
assert abs(sequence_perplexity(torch.zeros(5, 7), torch.tensor([0, 1, 2, 3, 4])) - 7.0) < 1e-6, "uniform over 7"
with torch.no_grad():
    _ids = out.sequences[0]
    print("perplexity of the tiny GPT-2 on its own greedy text:",
          sequence_perplexity(gpt(_ids[None]).logits[0, :-1].cpu(), _ids[1:].cpu()))

# %% [markdown] nbgrader={"grade": false, "grade_id": "bleu_md", "locked": true, "schema_version": 3, "solution": false}
# **BLEU** (BiLingual Evaluation *Understudy*: a stand-in for a human judge) scores a machine
# translation against one or more references by counting shared n-grams.
#
# * Plain precision can be fooled: `the the the the the the the` against "The cat is on the
#   mat." has precision 7/7, since every word is in the reference. **Clipping** fixes it: an
#   n-gram counts at most as many times as it occurs in *one* reference (the maximum over the
#   references). `the` occurs twice in "the cat is on the mat", so the **modified precision** is
#   2/7 (comparing lowercased tokens: "The" and "the" are the same word here).
# * Unigrams ignore order: `years six thirty have I` against `I am thirty six years old` scores
#   4/5 on unigrams, but none of its **two** 4-grams is in the reference: 0/2. (The course
#   writes 0/5: a 5-token sentence has only $5 - 4 + 1 = 2$ four-grams.)
# * BLEU is the geometric mean of the modified precisions $p_1 \dots p_N$ ($N = 4$) times a
#   **brevity penalty** that punishes short candidates (precision alone would reward a
#   one-word translation): with candidate length $c$ and reference length $r$,
#   $BP = 1$ if $c > r$, else $e^{1 - r/c}$ (0 when $c = 0$). Like the `evaluate` metric the
#   course uses, $r$ is the length of the **shortest** reference.
#
# $$\text{BLEU} = BP \cdot \exp\Big(\frac1N \sum_{n=1}^{N} \ln p_n\Big)\quad(0\text{ if any } p_n = 0).$$
#
# **Your tasks** (all on lists of tokens; `bleu_tokenize` below gives the tokens the course's
# numbers use): `ngram_counts(tokens, n)` a `Counter` of the n-gram tuples;
# `modified_precision(candidate, references, n)` → `(clipped_matches, total_candidate_ngrams)`;
# `brevity_penalty(c, r)`; `bleu(candidate, references, max_order=4)` → a dict with `"bleu"`,
# `"precisions"` (a list of `max_order` floats, 0.0 where the candidate has no n-grams),
# `"brevity_penalty"`, `"length_ratio"` ($c/r$), `"translation_length"` ($c$) and
# `"reference_length"` ($r$).

# %% nbgrader={"grade": false, "grade_id": "bleu_tok", "locked": true, "schema_version": 3, "solution": false}
def bleu_tokenize(text: str) -> list[str]:
    """Words (hyphens kept inside) and other punctuation marks as separate tokens: enough of
    sacrebleu's '13a' tokenizer, which `evaluate`'s BLEU uses, for our sentences."""
    return re.findall(r"[\w-]+|[^\w\s]", text)


print(bleu_tokenize("He thought it right and necessary to become a knight-errant, roaming."))


# %% nbgrader={"grade": false, "grade_id": "bleu", "locked": false, "schema_version": 3, "solution": true}
def ngram_counts(tokens: list, n: int) -> Counter:
    """Counter of the n-grams (tuples of n consecutive tokens)."""
    ### BEGIN SOLUTION
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    ### END SOLUTION


def modified_precision(candidate: list, references: list, n: int) -> tuple[int, int]:
    """(matches clipped by the max count in any one reference, number of candidate n-grams)."""
    ### BEGIN SOLUTION
    cand = ngram_counts(candidate, n)
    max_ref = Counter()
    for ref in references:
        for gram, count in ngram_counts(ref, n).items():
            max_ref[gram] = max(max_ref[gram], count)
    matches = sum(min(count, max_ref[gram]) for gram, count in cand.items())
    return matches, sum(cand.values())
    ### END SOLUTION


def brevity_penalty(c: int, r: int) -> float:
    """1 if c > r else exp(1 - r / c); 0.0 for an empty candidate."""
    ### BEGIN SOLUTION
    if c == 0:
        return 0.0
    return 1.0 if c > r else math.exp(1 - r / c)
    ### END SOLUTION


def bleu(candidate: list, references: list, max_order: int = 4) -> dict:
    """Sentence BLEU with clipped precisions, plain geometric mean and the shortest reference's length."""
    ### BEGIN SOLUTION
    precisions = []
    for n in range(1, max_order + 1):
        matches, total = modified_precision(candidate, references, n)
        precisions.append(matches / total if total else 0.0)
    c = len(candidate)
    r = min(len(ref) for ref in references)
    bp = brevity_penalty(c, r)
    if min(precisions) > 0:
        score = bp * math.exp(sum(math.log(p) for p in precisions) / max_order)
    else:
        score = 0.0
    return {"bleu": score, "precisions": precisions, "brevity_penalty": bp,
            "length_ratio": c / r, "translation_length": c, "reference_length": r}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_bleu", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert ngram_counts(["a", "b", "a", "b"], 2) == Counter({("a", "b"): 2, ("b", "a"): 1}), "ngram_counts"
assert modified_precision("the the the the the the the".split(),
                          ["the cat is on the mat .".split(), "there is a cat on the mat .".split()], 1) == (2, 7)
assert modified_precision("years six thirty have I".split(), ["I am thirty six years old".split()], 1) == (4, 5)
assert modified_precision("years six thirty have I".split(), ["I am thirty six years old".split()], 4) == (0, 2)
_refs = ["Latest research findings in Antarctica show significant ice loss due to climate change.",
         "Latest research findings in Antarctica show that the ice sheet is melting faster than previously thought."]
_res = bleu(bleu_tokenize(_refs[1]), [bleu_tokenize(r) for r in _refs])
assert _res["bleu"] == 1.0 and _res["reference_length"] == 14 and _res["translation_length"] == 17, _res
assert abs(_res["length_ratio"] - 1.2142857142857142) < 1e-12, _res
_pred = ("He thought it right and necessary to become a knight-errant, roaming the world in armor, seeking "
         "adventures and practicing the deeds he had read about in chivalric tales.")
_ref = ("He believed it was proper and essential to transform into a knight-errant, traveling the world in armor, "
        "pursuing adventures, and enacting the heroic deeds he had encountered in tales of chivalry.")
_res = bleu(bleu_tokenize(_pred), [bleu_tokenize(_ref)])
assert abs(_res["bleu"] - 0.19088841781992524) < 1e-12, _res
print(_res)

# %% [markdown] nbgrader={"grade": false, "grade_id": "rouge_md", "locked": true, "schema_version": 3, "solution": false}
# **ROUGE** (Recall-Oriented Understudy for Gisting Evaluation) compares a generated summary with
# a reference summary, from the reference's side as well:
#
# * **ROUGE-N**: the n-grams shared by prediction and reference, each counted at most as often as
#   it occurs in both (the overlap of the two counters). Precision = overlap / n-grams of the
#   prediction, recall = overlap / n-grams of the reference; the score is their F-measure
#   $F = \frac{2PR}{P+R}$ (0 when the overlap is 0).
# * **ROUGE-L**: the longest common subsequence (LCS: tokens in the same order, gaps allowed) of
#   the two token lists; $P = LCS/|pred|$, $R = LCS/|ref|$, F as above. (ROUGE-Lsum applies it per
#   sentence over a multi-sentence summary; for one sentence it is the same as ROUGE-L.)
#
# Tokens: lowercase, everything but letters and digits becomes a space, split (`rouge_tokenize`
# below, the `rouge_score` package's rule). The course's exoplanet summaries score ROUGE-1
# 0.7906976744186046, ROUGE-2 0.5365853658536585 and ROUGE-L 0.7441860465116279.
#
# **Your tasks:** `rouge_n(pred, ref, n)` and `rouge_l(pred, ref)` return the F-measure for two
# token lists; `lcs_length(a, b)` the length of the LCS (dynamic programming: a table where cell
# $(i, j)$ holds the LCS of the first $i$ tokens of `a` and the first $j$ of `b`).

# %% nbgrader={"grade": false, "grade_id": "rouge_tok", "locked": true, "schema_version": 3, "solution": false}
def rouge_tokenize(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


# %% nbgrader={"grade": false, "grade_id": "rouge", "locked": false, "schema_version": 3, "solution": true}
def _f_measure(overlap: int, n_pred: int, n_ref: int) -> float:
    if overlap == 0:
        return 0.0
    p, r = overlap / n_pred, overlap / n_ref
    return 2 * p * r / (p + r)


def rouge_n(pred: list, ref: list, n: int) -> float:
    """F-measure of the clipped n-gram overlap between two token lists."""
    ### BEGIN SOLUTION
    pc, rc = ngram_counts(pred, n), ngram_counts(ref, n)
    overlap = sum((pc & rc).values())
    return _f_measure(overlap, sum(pc.values()), sum(rc.values()))
    ### END SOLUTION


def lcs_length(a: list, b: list) -> int:
    """Length of the longest common subsequence of two sequences."""
    ### BEGIN SOLUTION
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table[len(a)][len(b)]
    ### END SOLUTION


def rouge_l(pred: list, ref: list) -> float:
    """F-measure of the LCS: P = LCS / len(pred), R = LCS / len(ref)."""
    ### BEGIN SOLUTION
    return _f_measure(lcs_length(pred, ref), len(pred), len(ref))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_rouge", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_pred = rouge_tokenize("as we learn more about the frequency and size distribution of exoplanets, we are discovering "
                       "that terrestrial planets are exceedingly common.")
_ref = rouge_tokenize("The more we learn about the frequency and size distribution of exoplanets, the more confident "
                      "we are that they are exceedingly common.")
assert abs(rouge_n(_pred, _ref, 1) - 0.7906976744186046) < 1e-12, rouge_n(_pred, _ref, 1)
assert abs(rouge_n(_pred, _ref, 2) - 0.5365853658536585) < 1e-12, rouge_n(_pred, _ref, 2)
assert lcs_length(_pred, _ref) == 16, lcs_length(_pred, _ref)
assert abs(rouge_l(_pred, _ref) - 0.7441860465116279) < 1e-12, rouge_l(_pred, _ref)
assert lcs_length("ABCBDAB", "BDCABA") == 4 and rouge_n(["a"], ["b"], 1) == 0.0, "LCS / no overlap"

# %% [markdown] nbgrader={"grade": false, "grade_id": "em_md", "locked": true, "schema_version": 3, "solution": false}
# **Exact match** (extractive question answering): 1 if the prediction equals the reference
# exactly, 0 otherwise, averaged over the pairs. It is strict — "mat." vs "mat?" is a miss — so it
# is usually reported together with F1. The course's three pairs give 1/3. Options loosen it:
# `ignore_case=True` compares lowercased strings, `ignore_punctuation=True` removes every
# character of `string.punctuation` first.
#
# **METEOR** (quiz only: it needs WordNet, a download) aligns words through stems and synonyms
# and penalises a changed order, which is why it scores the Don Quixote paraphrase 0.535 where
# BLEU gives 0.191.
#
# **Your task:** `exact_match(predictions, references, ignore_case=False,
# ignore_punctuation=False)` → the fraction of exact matches (a float).

# %% nbgrader={"grade": false, "grade_id": "em", "locked": false, "schema_version": 3, "solution": true}
import string


def exact_match(predictions: list[str], references: list[str], ignore_case: bool = False,
                ignore_punctuation: bool = False) -> float:
    """Fraction of predictions equal to their reference, after the optional normalisations."""
    ### BEGIN SOLUTION
    def norm(s: str) -> str:
        if ignore_case:
            s = s.lower()
        if ignore_punctuation:
            s = s.translate(str.maketrans("", "", string.punctuation))
        return s

    return sum(norm(p) == norm(r) for p, r in zip(predictions, references)) / len(predictions)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_em", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_preds = ["The cat sat on the mat.", "Theaters are great.", "Like comparing oranges and apples."]
_refs = ["The cat sat on the mat?", "Theaters are great.", "Like comparing apples and oranges."]
assert exact_match(_preds, _refs) == 1 / 3, exact_match(_preds, _refs)
assert exact_match(_preds, _refs, ignore_punctuation=True) == 2 / 3, "'mat.' and 'mat?' match without punctuation"

# %% [markdown] nbgrader={"grade": false, "grade_id": "outro", "locked": true, "schema_version": 3, "solution": false}
# ## Which metric for which task
#
# | task | metrics |
# |---|---|
# | classification, sentiment | accuracy, precision, recall, F1 |
# | text generation | perplexity, BLEU |
# | summarisation | ROUGE |
# | translation | BLEU, METEOR |
# | extractive QA | exact match (+ F1) |
# | generative QA | BLEU, ROUGE |
