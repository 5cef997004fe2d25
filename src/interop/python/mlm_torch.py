"""mlm-ts's masked language model in PyTorch: the model, its weights, and training with DDP.

This file is written and kept by the mlm-ts project; `mlm export RUN_DIR --format pytorch --out DIR`
copies it into DIR. It needs only the standard library, numpy and torch (1.13 or later), and reads
and writes safetensors itself.

The export folder DIR holds:
  mlm_torch.py           this file
  config.json            {"format": "mlm-ts-pytorch", "formatVersion": 2, "model": {...}, "train": {...},
                          "tokens": {...}, "step": N, "mlm_ts": {...}}: the model's shape, the run's
                          optimizer and masking settings, the special token ids, the step reached, and
                          what `mlm import` needs to make an mlm-ts run again
  model.safetensors      float32 weights, PyTorch names and layout ([out, in] linear weights): see
                          MlmModel below for every name; the model options (positions, norm,
                          activation, tieOutput) add or remove tensors
  optimizer.safetensors  (when the run had Adam moments) "exp_avg.<name>" and "exp_avg_sq.<name>" for
                          each weight, same shapes; metadata {"step": "N"}
  tokenizer.json         the run's tokenizer (Hugging Face's format)
  data/                  the splits as NumPy .npy shards of at most config.json's "data" "shardTokens" tokens,
                         sentences in order, each in one shard; config.json's "data" {"format": "npy-shards",
                         "idsDtype", "shardTokens", "train": {"sentences", "tokens", "shards"}, "valid": {...}}:
    <split>-<k>.ids.npy      (k: 00000, 00001, ...) the shard's sentences' token ids back to back, [CLS] ... [SEP],
                             uint16 when the vocabulary fits (<= 65536 ids), else int32 ("idsDtype")
    <split>-<k>.offsets.npy  int32 [sentences in the shard + 1]: its sentence j is ids[offsets[j]:offsets[j + 1]]
    valid-<k>.labels.npy     (masked LM) int32, one per id: the original id at each masked token, -100
                             elsewhere; valid's ids have mlm-ts's fixed validation masks applied
    <split>-<k>.classes.npy  (classifier) int32, one per sentence: its class id
  The trainer memory-maps the ids and labels and reads the offsets and classes (ShardedSplit): its
  memory grows with the sentences (4 to 8 bytes each), not with the tokens.
  A fine-tuned classifier's export (config.json "task": "text-classification", "classifier": {"id2label",
  "pooling", and how its labelled data was read}) has the encoder's tensors and classifier.{dense,ln,out}
  (no head.*; see Classifier below); its splits are [CLS] text [SEP] as fine-tuning encoded them, with classes.

  metrics.jsonl          (when the run had one) the run's metrics.jsonl, every record as mlm-ts wrote it
  history/               (when the run had them) the run's TensorBoard event files, events.out.tfevents.*

Commands (a single process, or N processes with torchrun):
  python3 mlm_torch.py train DIR --out OUT --steps 100 [--batch-size 64] [--lr 3e-4] [--log-every 10]
  python3 mlm_torch.py train DIR --out OUT --max-steps 500    train on to step 500, the decay stretched to it
  torchrun --nproc_per_node N mlm_torch.py train DIR --out OUT --steps 100
  python3 -m torch.distributed.run --nproc_per_node 2 mlm_torch.py train DIR --out OUT --steps 100
  (Debian 12's torch 1.13 on Python 3.11 cannot parse torchrun's default "--redirects 0": add -r 1 -t 1)
  python3 mlm_torch.py eval DIR                      validation loss on the fixed masks (a classifier: its
                                                     evaluation record, loss, accuracy, macroF1, per class)
  python3 mlm_torch.py logits DIR IDS.npy MASK.npy OUT.npy   logits of an int64 [B, L] batch
  python3 mlm_torch.py gradients DIR BATCH OUT [--steps 10] [--task mlm|classify]   loss, logits, gradients of one batch

Training: DistributedDataParallel over gloo (CPU) or nccl (CUDA, when torchrun gives each process a
GPU); --batch-size is the global batch (mlm-ts's batchSize by default), split evenly over the
processes; each process draws its own masks (mlm-ts's rule: trainMaskProb, or maskProb when null;
maskTokenRate, randomTokenRate) from a generator seeded with (seed, rank, step), pads its sentences to
the longest, and the loss is the mean cross-entropy over its masked tokens (DDP averages the processes'
gradients). Dropout is mlm-ts's, place by place: dropoutEmbedding, dropoutAttention (the attention
output), dropoutHidden (the feed-forward hidden units) and dropoutResidual (the feed-forward output),
each "dropout" when null. A classifier takes each process's sentences with their classes (no masks),
the loss their mean cross-entropy. Gradients are
clipped to the run's global norm, then Adam (AdamW with weight decay on matrices when the run had it)
at the run's learning-rate schedule continues from the exported step and moments.

The schedule: config.json's "train" "totalSteps" is where a linear or cosine decay reaches 0. --steps N
that would train past it is refused (the steps after it would be at learning rate 0, changing nothing);
--max-steps M trains to step M with the decay stretched to end there, as `mlm train --resume
--max-steps M` does (the rate at the exported step jumps from the old decay's value to the new one's).

OUT gets the same layout as DIR (without data/ and this file): model.safetensors,
optimizer.safetensors, config.json with "step" (and "train" "totalSteps") updated, tokenizer.json,
metrics.jsonl (DIR's records, then one "split": "train" record per log line and a "split": "valid" one
at the end, in mlm-ts's format: a classifier's holds mlm-ts's whole evaluation), history/ (DIR's), and
trainer_state.json {"step", "valid_loss", "valid_tokens" (a classifier: "valid_examples" and
"valid_metrics", the evaluation), "world_size", "train_losses", "history_records"} (history_records: how
many of metrics.jsonl's records came from DIR); `mlm import OUT --out RUN_DIR` brings it back to mlm-ts,
its metrics.jsonl and TensorBoard history included (a classifier as a fine-tuning run: `mlm classify`
and `mlm finetune --resume` take it).
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

IGNORE_LABEL = -100
# mlm-ts scores padding keys -1e9 in attention; the same is added here.
MASKED_SCORE = -1e9


# ---------------------------------------------------------------------------------------------------
# safetensors, float32 only, every header bound-checked


def read_safetensors(path):
    """{name: float32 ndarray} and the metadata of a safetensors file; ValueError naming the problem."""
    with open(path, "rb") as f:
        raw = f.read()

    def fail(what):
        raise ValueError(f"{path}: not a valid safetensors file: {what}")

    if len(raw) < 8:
        fail(f"{len(raw)} bytes, expected at least 8")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        fail(f"header size {n} runs past the end of the {len(raw)}-byte file")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        fail(f"header is not UTF-8 JSON ({err})")
    if not isinstance(header, dict):
        fail("header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    data = raw[8 + n :]
    tensors = {}
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict) or info.get("dtype") != "F32":
            fail(f'tensor "{name}" is not F32')
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            fail(f'tensor "{name}" has shape {shape!r}')
        if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1] <= len(data)):
            fail(f'tensor "{name}" has data_offsets {offsets!r} outside the {len(data)} bytes of data')
        if offsets[1] - offsets[0] != 4 * int(np.prod(shape, dtype=np.int64)):
            fail(f'tensor "{name}" spans {offsets[1] - offsets[0]} bytes, shape {shape} needs {4 * int(np.prod(shape))}')
        spans.append((offsets[0], offsets[1], name))
        tensors[name] = np.frombuffer(data, dtype="<f4", count=int(np.prod(shape)), offset=offsets[0]).reshape(shape)
    cursor = 0
    for begin, end, name in sorted(spans):
        if begin != cursor:
            fail(f'tensor "{name}" starts at byte {begin} of the data, expected {cursor}')
        cursor = end
    if cursor != len(data):
        fail(f"tensors cover {cursor} bytes of data, the file has {len(data)}")
    return {k: v.astype(np.float32) for k, v in tensors.items()}, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: array} as float32 safetensors (names sorted, header padded to 8 bytes), atomically."""
    names = sorted(tensors)
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name in names:
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        blobs.append(arr.tobytes())
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------
# the model: one class per piece, named as in model.safetensors


def sinusoidal_table(max_len, C):
    """PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(...), [max_len, C], as mlm-ts computes it."""
    pe = np.zeros((max_len, C), dtype=np.float32)
    for pos in range(max_len):
        for c in range(0, C, 2):
            angle = pos / math.pow(10000, c / C)
            pe[pos, c] = math.sin(angle)
            if c + 1 < C:
                pe[pos, c + 1] = math.cos(angle)
    return torch.from_numpy(pe)


# The model options this file implements, with their values; load_model refuses any other value (and
# any model key it does not know, at a value other than the tutorial's), so it never trains or scores
# a model other than mlm-ts's.
MODEL_OPTIONS = {
    "positions": ("sinusoidal", "scaled-sinusoidal", "learned"),
    "norm": ("post", "pre"),
    "activation": ("relu", "gelu"),
    "tieOutput": (False, True),
    "embedding": ("scaled", "layernorm"),
}
SIZE_KEYS = ("vocabSize", "dModel", "numLayers", "numHeads", "dFF", "maxLen", "lnEps", "embedInitStd")
DROPOUT_PLACES = ("Embedding", "Attention", "Hidden", "Residual")


def check_model_config(model_cfg, source):
    """Refuses, naming the key, a model option this file does not implement."""
    known = set(MODEL_OPTIONS) | set(SIZE_KEYS) | {"dropout"} | {f"dropout{p}" for p in DROPOUT_PLACES}
    for key, value in model_cfg.items():
        if key not in known:
            raise ValueError(f'{source}: the model option "{key}" is not implemented by mlm_torch.py')
        if key in MODEL_OPTIONS and value not in MODEL_OPTIONS[key]:
            raise ValueError(f'{source}: the model option "{key}" = {value!r} is not implemented (supported: {MODEL_OPTIONS[key]})')


def dropout_rate(cfg, place):
    """The dropout probability at `place` (Embedding, Attention, Hidden, Residual): its own key, else "dropout"."""
    rate = cfg.get(f"dropout{place}")
    return cfg["dropout"] if rate is None else rate


def activation(cfg):
    """ReLU, or GELU's tanh approximation (mlm-ts's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if cfg["activation"] == "gelu":
        return lambda x: F.gelu(x, approximate="tanh")
    return torch.relu


class SelfAttention(nn.Module):
    """Multi-head self-attention: q, k, v, out are nn.Linear(C, C); padding keys get MASKED_SCORE."""

    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.q, self.k, self.v, self.out = (nn.Linear(C, C) for _ in range(4))

    def forward(self, x, key_bias):  # x [B,L,C], key_bias [B,1,1,L]
        B, L, C = x.shape
        D = C // self.H
        heads = lambda t: t.view(B, L, self.H, D).transpose(1, 2)  # [B,H,L,D]
        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(D)) + key_bias  # [B,H,L,L]
        out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, L, C)
        return self.out(out)


class FeedForward(nn.Module):
    """fc2(dropout_hidden(act(fc1(x)))): C -> F -> C, act ReLU or GELU (tanh)."""

    def __init__(self, cfg):
        super().__init__()
        C, F_ = cfg["dModel"], cfg["dFF"]
        self.fc1, self.fc2 = nn.Linear(C, F_), nn.Linear(F_, C)
        self.act = activation(cfg)
        self.drop = nn.Dropout(dropout_rate(cfg, "Hidden"))

    def forward(self, x):
        return self.fc2(self.drop(self.act(self.fc1(x))))


class Block(nn.Module):
    """One encoder block, ln1/ln2 placed by cfg["norm"]; drop_att on the attention output, drop_res on
    the feed-forward output.
      post (the tutorial's): x1 = ln1(x + drop_att(attn(x))), out = ln2(x1 + drop_res(ffn(x1)))
      pre:                   r1 = x + drop_att(attn(ln1(x))), out = r1 + drop_res(ffn(ln2(r1)))"""

    def __init__(self, cfg):
        super().__init__()
        C = cfg["dModel"]
        self.pre = cfg["norm"] == "pre"
        self.attn = SelfAttention(C, cfg["numHeads"])
        self.ln1 = nn.LayerNorm(C, eps=cfg["lnEps"])
        self.ffn = FeedForward(cfg)
        self.ln2 = nn.LayerNorm(C, eps=cfg["lnEps"])
        self.drop_att = nn.Dropout(dropout_rate(cfg, "Attention"))
        self.drop_res = nn.Dropout(dropout_rate(cfg, "Residual"))

    def forward(self, x, key_bias):
        if self.pre:
            r1 = x + self.drop_att(self.attn(self.ln1(x), key_bias))
            return r1 + self.drop_res(self.ffn(self.ln2(r1)))
        x1 = self.ln1(x + self.drop_att(self.attn(x, key_bias)))
        return self.ln2(x1 + self.drop_res(self.ffn(x1)))


class Embedding(nn.Module):
    """weight [V,C] (scaled by sqrt(C) in the forward) and, with learned positions, positions [maxLen,C].
    With embedding "layernorm" (BERT's): ln(weight[ids] + positions), no sqrt(C) factor."""

    def __init__(self, cfg):
        super().__init__()
        V, C, L = cfg["vocabSize"], cfg["dModel"], cfg["maxLen"]
        self.weight = nn.Parameter(torch.zeros(V, C))
        self.ln = nn.LayerNorm(C, eps=cfg["lnEps"]) if cfg.get("embedding", "scaled") == "layernorm" else None
        if cfg["positions"] == "learned":
            self.positions = nn.Parameter(torch.zeros(L, C))
        else:
            table = sinusoidal_table(L, C)
            if cfg["positions"] == "scaled-sinusoidal":
                table = table * float(np.float32(math.sqrt(C)))  # sqrt(C) rounded to float32, as mlm-ts scales it
            self.register_buffer("positions", table, persistent=False)

    def forward(self, ids):  # [B,L] -> [B,L,C]
        C = self.weight.shape[1]
        if self.ln is not None:
            return self.ln(F.embedding(ids, self.weight) + self.positions[: ids.shape[1]])
        return F.embedding(ids, self.weight) * math.sqrt(C) + self.positions[: ids.shape[1]]


class FinalNorm(nn.Module):
    """The LayerNorm after the last pre-norm block: final.ln."""

    def __init__(self, cfg):
        super().__init__()
        self.ln = nn.LayerNorm(cfg["dModel"], eps=cfg["lnEps"])

    def forward(self, x):
        return self.ln(x)


class TiedOutput(nn.Module):
    """The output layer tied to the embedding: logits = x @ embed.weight^T + bias; only the bias is its own."""

    def __init__(self, V):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(V))

    def forward(self, x, embed_weight):
        return F.linear(x, embed_weight, self.bias)


class MlmHead(nn.Module):
    """out(ln(act(dense(x)))): C -> C -> V; out an nn.Linear(C, V), or TiedOutput with a tied output."""

    def __init__(self, cfg):
        super().__init__()
        C = cfg["dModel"]
        self.dense = nn.Linear(C, C)
        self.act = activation(cfg)
        self.ln = nn.LayerNorm(C, eps=cfg["lnEps"])
        self.tied = cfg["tieOutput"]
        self.out = TiedOutput(cfg["vocabSize"]) if self.tied else nn.Linear(C, cfg["vocabSize"])

    def forward(self, x, embed_weight):
        h = self.ln(self.act(self.dense(x)))
        return self.out(h, embed_weight) if self.tied else self.out(h)


class MlmModel(nn.Module):
    """embed.weight [V,C] (embed.positions [maxLen,C] when learned); layers.<l>.{attn.{q,k,v,out},ln1,
    ffn.{fc1,fc2},ln2}; final.ln (pre-norm); head.{dense,ln,out} (head.out.bias only when tied).
    cfg: config.json's "model" (mlm-ts's model keys)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = Embedding(cfg)
        self.drop = nn.Dropout(dropout_rate(cfg, "Embedding"))
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg["numLayers"]))
        self.final = FinalNorm(cfg) if cfg["norm"] == "pre" else None
        self.head = MlmHead(cfg)

    def encode(self, ids, mask):  # ids [B,L] int64, mask [B,L] 1 real / 0 padding -> [B,L,C]
        x = self.drop(self.embed(ids))
        key_bias = ((1.0 - mask.to(x.dtype)) * MASKED_SCORE)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, key_bias)
        return x if self.final is None else self.final(x)

    def forward(self, ids, mask, labels=None):
        """Logits [B,L,V]; with labels [B,L], only at the labelled tokens: ([N,V], their N labels), as
        mlm-ts runs its head (the output layer is most of the work, and only those rows have a loss)."""
        x = self.encode(ids, mask)
        if labels is None:
            return self.head(x, self.embed.weight)
        keep = labels != IGNORE_LABEL
        return self.head(x[keep], self.embed.weight), labels[keep]


def load_model(folder, cfg):
    """The model of config.json with the weights of folder/model.safetensors (every name, every shape)."""
    check_model_config(cfg["model"], f'{folder}/config.json "model"')
    model = MlmModel(cfg["model"])
    weights, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    state = model.state_dict()
    missing = sorted(set(state) - set(weights))
    extra = sorted(set(weights) - set(state))
    if missing or extra:
        raise ValueError(f"{folder}/model.safetensors: missing {missing[:3]}, unexpected {extra[:3]}")
    for name, value in weights.items():
        if tuple(value.shape) != tuple(state[name].shape):
            raise ValueError(f"{folder}/model.safetensors: {name} has shape {value.shape}, expected {tuple(state[name].shape)}")
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    return model


class ClassifierHead(nn.Module):
    """classifier.{dense,ln,out}: out(ln(act(dense(x)))), C -> C -> N, on one vector per sentence. The
    tutorial applies dense, act and ln on every position and takes position 0; per-row layers, so the
    same as running them on the pooled rows."""

    def __init__(self, cfg, num_labels):
        super().__init__()
        C = cfg["dModel"]
        self.dense = nn.Linear(C, C)
        self.act = activation(cfg)
        self.ln = nn.LayerNorm(C, eps=cfg["lnEps"])
        self.out = nn.Linear(C, num_labels)

    def forward(self, x):
        return self.out(self.ln(self.act(self.dense(x))))


class Classifier(MlmModel):
    """A fine-tuned mlm-ts classifier: MlmModel's encoder (same names), no MLM head, classifier.* on the
    [CLS] vector ("cls") or the mean of the real tokens ("mean")."""

    def __init__(self, cfg, num_labels, pooling):
        super().__init__(cfg)
        del self.head
        if pooling not in ("cls", "mean"):
            raise ValueError(f'pooling "{pooling}" is not implemented (supported: cls, mean)')
        self.pooling = pooling
        self.classifier = ClassifierHead(cfg, num_labels)

    def forward(self, ids, mask, labels=None):
        """Logits [B,N]; with labels [B], also the mean cross-entropy."""
        x = self.encode(ids, mask)
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            m = mask.to(x.dtype)[:, :, None]
            pooled = (x * m).sum(dim=1) / m.sum(dim=1)
        logits = self.classifier(pooled)
        return logits if labels is None else (logits, F.cross_entropy(logits, labels))


def load_classifier(folder, cfg):
    """A classification checkpoint (config.json "task": "text-classification") with its weights."""
    if cfg.get("task") != "text-classification":
        raise ValueError(f'{folder}/config.json: not a text-classification checkpoint (task {cfg.get("task")!r})')
    check_model_config(cfg["model"], f'{folder}/config.json "model"')
    c = cfg["classifier"]
    model = Classifier(cfg["model"], len(c["id2label"]), c.get("pooling", "cls"))
    weights, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    state = model.state_dict()
    if set(state) != set(weights):
        raise ValueError(f"{folder}/model.safetensors: missing {sorted(set(state) - set(weights))[:3]}, unexpected {sorted(set(weights) - set(state))[:3]}")
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    return model


def classify_logits(args):
    """`classify DIR IDS MASK LABELS OUT`: writes the logits [B,N] to OUT (.npy) and prints the loss."""
    cfg = json.load(open(os.path.join(args.dir, "config.json")))
    model = load_classifier(args.dir, cfg).eval()
    with torch.no_grad():
        ids = torch.from_numpy(np.load(args.ids).astype(np.int64))
        mask = torch.from_numpy(np.load(args.mask).astype(np.int64))
        labels = torch.from_numpy(np.load(args.labels).astype(np.int64))
        logits, loss = model(ids, mask, labels)
    np.save(args.out, logits.numpy().astype(np.float32))
    print(json.dumps({"loss": float(loss)}))


# ---------------------------------------------------------------------------------------------------
# data: the exported splits, batches padded to their longest sentence, mlm-ts's masking rule


class ShardedSplit:
    """One split of data/, its shards as config.json's "data" describes them (format "npy-shards"):
    each shard's ids (and token labels) memory-mapped, its offsets and classes read (4 and 8 bytes a
    sentence), so memory stays bounded by the sentences, not the tokens. split.ids(i), split.labels(i):
    sentence i's ids and token labels as int64 arrays; split.classes: [sentences] class ids; split.count."""

    def __init__(self, folder, cfg, name, labels=False, num_classes=None):
        data = cfg.get("data")
        if not isinstance(data, dict) or data.get("format") != "npy-shards":
            raise ValueError(f'{folder}/config.json: "data" must describe "npy-shards" (an export with formatVersion 2)')
        meta = data[name]
        self.name = name
        self._ids, self._labels, self._offsets, firsts, classes = [], [], [], [0], []
        for k in range(meta["shards"]):
            path = lambda column: os.path.join(folder, "data", f"{name}-{k:05d}.{column}.npy")
            ids = np.load(path("ids"), mmap_mode="r")
            offsets = np.load(path("offsets")).astype(np.int64)
            if len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids) or np.any(np.diff(offsets) <= 0):
                raise ValueError(f"{path('offsets')} does not cover {path('ids')} in increasing order")
            self._ids.append(ids)
            self._offsets.append(offsets)
            firsts.append(firsts[-1] + len(offsets) - 1)
            if labels:
                token_labels = np.load(path("labels"), mmap_mode="r")
                if len(token_labels) != len(ids):
                    raise ValueError(f"{path('labels')} has {len(token_labels)} values, {path('ids')} {len(ids)}")
                self._labels.append(token_labels)
            if num_classes is not None:
                c = np.load(path("classes")).astype(np.int64)
                if len(c) != len(offsets) - 1 or (len(c) and (c.min() < 0 or c.max() >= num_classes)):
                    raise ValueError(f"{path('classes')}: {len(c)} class ids in [0, {num_classes}) expected, one per sentence")
                classes.append(c)
        self._firsts = np.array(firsts, dtype=np.int64)
        self.count = int(firsts[-1])
        if self.count != meta["sentences"]:
            raise ValueError(f'{folder}/data: the {name} shards hold {self.count} sentences, config.json says {meta["sentences"]}')
        self.classes = np.concatenate(classes) if classes else None

    def _find(self, i):
        k = int(np.searchsorted(self._firsts, i, side="right")) - 1
        j = i - self._firsts[k]
        return k, self._offsets[k][j], self._offsets[k][j + 1]

    def ids(self, i):
        k, a, b = self._find(i)
        return np.asarray(self._ids[k][a:b], dtype=np.int64)

    def labels(self, i):
        k, a, b = self._find(i)
        return np.asarray(self._labels[k][a:b], dtype=np.int64)


def is_classifier(cfg):
    """Whether config.json describes a fine-tuned classifier ("task": "text-classification")."""
    return cfg.get("task") == "text-classification"


def pad(rows, pad_id, fill):
    """rows (1-D arrays) -> [B, longest] int64 filled with `fill`, and the [B, longest] real-token mask."""
    L = max(len(r) for r in rows)
    out = np.full((len(rows), L), fill, dtype=np.int64)
    mask = np.zeros((len(rows), L), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return torch.from_numpy(out), torch.from_numpy(mask)


def training_mask_prob(train_cfg):
    """The training batches' selection rate: trainMaskProb, or maskProb when it is null (as mlm-ts)."""
    rate = train_cfg.get("trainMaskProb")
    return train_cfg["maskProb"] if rate is None else rate


def mask_tokens(ids, real, gen, train_cfg, tokens):
    """mlm-ts's rule: each real non-special token selected with the training rate (training_mask_prob);
    of those, maskTokenRate become [MASK], randomTokenRate a random non-special id, the rest keep theirs.
    Returns (inputs, labels)."""
    never = torch.tensor(tokens["neverMasked"], dtype=torch.int64)
    maskable = (real == 1) & ~torch.isin(ids, never)
    selected = (torch.rand(ids.shape, generator=gen) < training_mask_prob(train_cfg)) & maskable
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE_LABEL))
    draw = torch.rand(ids.shape, generator=gen)
    to_mask = selected & (draw < train_cfg["maskTokenRate"])
    to_random = selected & ~to_mask & (draw < train_cfg["maskTokenRate"] + train_cfg["randomTokenRate"])
    pool = torch.tensor(tokens["randomPool"], dtype=torch.int64)
    random_ids = pool[torch.randint(len(pool), ids.shape, generator=gen)]
    inputs = torch.where(to_mask, torch.full_like(ids, tokens["mask"]), ids)
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels


def learning_rate(step, t):
    """mlm-ts's schedule at update `step` (1-based): linear warmup, then constant, linear or cosine to 0."""
    peak, warmup, total = t["learningRate"], t["warmupSteps"], t["totalSteps"]
    if warmup > 0 and step <= warmup:
        return peak * step / warmup
    if t["lrSchedule"] == "constant":
        return peak
    progress = min(1.0, max(0.0, (step - warmup) / max(1, total - warmup)))
    if t["lrSchedule"] == "linear":
        return peak * (1 - progress)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def validation_loss(model, folder, cfg, rank=0, world=1, batch=64):
    """Mean cross-entropy at the fixed validation masks (summed over this rank's share, all-reduced)."""
    model.eval()
    device = next(model.parameters()).device
    split = ShardedSplit(folder, cfg, "valid", labels=True)
    pad_id = cfg["tokens"]["pad"]
    total = torch.zeros(2, dtype=torch.float64)
    count = split.count
    for start in range(rank * batch, count, batch * world):
        idx = range(start, min(start + batch, count))
        x, real = pad([split.ids(i) for i in idx], pad_id, pad_id)
        y, _ = pad([split.labels(i) for i in idx], pad_id, IGNORE_LABEL)
        logits, targets = model(x.to(device), real.to(device), y.to(device))
        total[0] += F.cross_entropy(logits, targets, reduction="none").double().sum().cpu()
        total[1] += len(targets)
    if world > 1:
        total = total.to(device)  # nccl reduces GPU tensors only
        dist.all_reduce(total)
        total = total.cpu()
    model.train()
    return (total[0] / total[1]).item(), int(total[1].item())


def classification_metrics(confusion, loss_sum, id2label):
    """mlm-ts's evaluation record of a classifier (model/classification-metrics.ts, scikit-learn's
    definitions with zero_division=0): loss (mean cross-entropy per sentence), accuracy, macroF1,
    examples, then per class precision/<label>, recall/<label>, f1/<label>, support/<label> and
    confusion/<true>/<predicted> counts. confusion: [N,N] counts, rows the true class."""
    N = len(id2label)
    total = int(confusion.sum())
    out = {"loss": loss_sum / total if total else float("nan"),
           "accuracy": float(np.trace(confusion)) / total if total else float("nan")}
    f1s, per_class = [], {}
    for t, label in enumerate(id2label):
        tp, actual, predicted = confusion[t, t], confusion[t].sum(), confusion[:, t].sum()
        precision = float(tp / predicted) if predicted > 0 else 0.0
        recall = float(tp / actual) if actual > 0 else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        f1s.append(f1)
        per_class.update({f"precision/{label}": precision, f"recall/{label}": recall, f"f1/{label}": f1,
                          f"support/{label}": int(actual)})
        per_class.update({f"confusion/{label}/{p}": int(confusion[t, k]) for k, p in enumerate(id2label)})
    out["macroF1"] = sum(f1s) / N
    out["examples"] = total
    return {**out, **per_class}


@torch.no_grad()
def classifier_evaluation(model, folder, cfg, rank=0, world=1, batch=64):
    """The classifier's validation metrics (classification_metrics) over data/valid_*: this rank's
    share of the sentences, the loss sum and confusion matrix all-reduced."""
    model.eval()
    device = next(model.parameters()).device
    id2label = cfg["classifier"]["id2label"]
    N = len(id2label)
    split = ShardedSplit(folder, cfg, "valid", num_classes=N)
    count, classes = split.count, split.classes
    pad_id = cfg["tokens"]["pad"]
    loss_sum = torch.zeros(1, dtype=torch.float64)
    confusion = torch.zeros(N * N, dtype=torch.float64)
    for start in range(rank * batch, count, batch * world):
        idx = list(range(start, min(start + batch, count)))
        x, real = pad([split.ids(i) for i in idx], pad_id, pad_id)
        y = torch.from_numpy(classes[idx])
        logits = model(x.to(device), real.to(device)).cpu()
        loss_sum += F.cross_entropy(logits, y, reduction="sum").double()
        confusion += torch.bincount(y * N + logits.argmax(dim=1), minlength=N * N).double()
    if world > 1:
        both = torch.cat([loss_sum, confusion]).to(device)  # nccl reduces GPU tensors only
        dist.all_reduce(both)
        both = both.cpu()
        loss_sum, confusion = both[:1], both[1:]
    model.train()
    return classification_metrics(confusion.view(N, N).numpy(), loss_sum.item(), id2label)


# ---------------------------------------------------------------------------------------------------
# training


def make_optimizer(model, folder, t, start_step):
    """Adam (AdamW on matrices when weightDecay > 0) with the exported moments and step, when present."""
    named = list(model.named_parameters())
    decay = [p for n, p in named if p.dim() == 2]
    other = [p for n, p in named if p.dim() != 2]
    wd = t["weightDecay"]
    cls = torch.optim.AdamW if wd > 0 else torch.optim.Adam
    groups = [{"params": decay, "weight_decay": wd}, {"params": other, "weight_decay": 0.0}]
    opt = cls(groups, lr=t["learningRate"], betas=(t["beta1"], t["beta2"]), eps=t["adamEps"])
    path = os.path.join(folder, "optimizer.safetensors")
    if os.path.exists(path):
        moments, meta = read_safetensors(path)
        if int(meta.get("step", -1)) != start_step:
            raise ValueError(f"{path}: metadata step {meta.get('step')} differs from config.json's step {start_step}")
        for n, p in named:
            for key in ("exp_avg", "exp_avg_sq"):
                if f"{key}.{n}" not in moments or moments[f"{key}.{n}"].shape != tuple(p.shape):
                    raise ValueError(f"{path}: missing or misshapen {key}.{n}")
            opt.state[p] = {
                "step": torch.tensor(float(start_step)),
                "exp_avg": torch.from_numpy(moments[f"exp_avg.{n}"].copy()).to(p.device),
                "exp_avg_sq": torch.from_numpy(moments[f"exp_avg_sq.{n}"].copy()).to(p.device),
            }
    return opt


def clip_global_norm(params, max_norm):
    """optax's clip_by_global_norm: scale by max_norm / norm when the norm exceeds it. Returns the norm."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
    if norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)
    return norm


def planned_steps(start, t, steps, max_steps):
    """The steps to train and the schedule's end: --max-steps M stretches a decay to end at M (as mlm
    train --resume --max-steps); --steps N past the end of a linear or cosine decay is refused, naming
    --max-steps, since those steps would run at learning rate 0. Raises ValueError with the message."""
    total = t["totalSteps"]
    if max_steps is not None:
        if max_steps <= start:
            raise ValueError(f"--max-steps {max_steps} is not past the folder's step {start}")
        return max_steps - start, max_steps
    if steps <= 0:
        raise ValueError(f"--steps must be at least 1, got {steps}")
    if t["lrSchedule"] != "constant" and start + steps > total:
        raise ValueError(
            f'the run\'s {t["lrSchedule"]} learning-rate schedule reaches 0 at step {total} and this folder is at '
            f"step {start}: --steps {steps} would train at learning rate 0 past it; give --max-steps {start + steps} "
            f"to stretch the decay to step {start + steps}, as mlm train --resume --max-steps does")
    return steps, total


def metrics_line(record):
    """One metrics.jsonl line as mlm-ts writes it: NaN and infinities as the strings "NaN", "Infinity"."""
    def value(v):
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        return v
    return json.dumps({k: value(v) for k, v in record.items()}, separators=(",", ":")) + "\n"


class MetricsFile:
    """OUT/metrics.jsonl: DIR's records first (copied as they are), then this session's, each line
    written and flushed when logged (a killed process keeps what it logged)."""

    def __init__(self, out, folder):
        os.makedirs(out, exist_ok=True)
        self.path = os.path.join(out, "metrics.jsonl")
        source = os.path.join(folder, "metrics.jsonl")
        lines = []
        if os.path.exists(source):
            with open(source, encoding="utf-8") as f:
                lines = [line if line.endswith("\n") else line + "\n" for line in f if line.strip()]
        self.history_records = len(lines)
        self.file = open(self.path, "w", encoding="utf-8")
        self.file.writelines(lines)
        self.file.flush()

    def log(self, step, fields):
        self.file.write(metrics_line({"step": step, **fields, "time": time.time()}))
        self.file.flush()

    def close(self):
        self.file.close()


def train(args):
    folder = args.dir
    cfg = json.load(open(os.path.join(folder, "config.json")))
    t = dict(cfg["train"])
    if args.lr is not None:
        t["learningRate"] = args.lr
    distributed = "RANK" in os.environ
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    else:
        rank, world = 0, 1
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    batch = args.batch_size or t["batchSize"]
    if batch % world != 0:
        raise SystemExit(f"mlm_torch: --batch-size {batch} does not split evenly over {world} processes")
    per_rank = batch // world

    torch.manual_seed(t["seed"] * 1000 + rank)
    classifier = is_classifier(cfg)
    model = (load_classifier if classifier else load_model)(folder, cfg).to(device)
    start = cfg["step"]
    try:
        steps, t["totalSteps"] = planned_steps(start, t, args.steps, args.max_steps)
    except ValueError as err:
        print(f"mlm_torch: {err}", file=sys.stderr)
        sys.exit(2)
    opt = make_optimizer(model, folder, t, start)
    ddp = nn.parallel.DistributedDataParallel(model) if distributed else model
    num_classes = len(cfg["classifier"]["id2label"]) if classifier else None
    split = ShardedSplit(folder, cfg, "train", num_classes=num_classes)
    n, classes = split.count, split.classes
    tokens = cfg["tokens"]
    losses = []
    t0 = time.time()
    order = None
    metrics = MetricsFile(args.out, folder) if rank == 0 else None
    since_log = []
    tokens_seen = 0
    for i in range(steps):
        step = start + i + 1
        epoch, slot = divmod((step - 1) * batch, n)
        if order is None or order[0] != epoch:
            g = torch.Generator().manual_seed(t["seed"] * 7919 + epoch)
            order = (epoch, torch.randperm(n, generator=g).numpy())
        picks = [order[1][(slot + rank * per_rank + j) % n] for j in range(per_rank)]
        x, real = pad([split.ids(k) for k in picks], tokens["pad"], tokens["pad"])
        if classifier:
            # the mean cross-entropy over this process's sentences, each with its class
            _, loss = ddp(x.to(device), real.to(device), torch.from_numpy(classes[picks]).to(device))
        else:
            gen = torch.Generator().manual_seed((t["seed"] * 1_000_003 + rank * 7919 + step) % (2**63))
            inputs, labels = mask_tokens(x, real, gen, t, tokens)
            logits, targets = ddp(inputs.to(device), real.to(device), labels.to(device))
            if len(targets) > 0:
                loss = F.cross_entropy(logits, targets)
            else:
                loss = logits.sum() * 0.0  # a batch without a masked token: no update from this process
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = clip_global_norm(list(model.parameters()), t["gradClip"])
        lr = learning_rate(step, t)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        mean = loss.detach().clone()
        if distributed:
            dist.all_reduce(mean)
            mean /= world
        mean = mean.cpu()
        losses.append(mean.item())
        since_log.append(mean.item())
        tokens_seen += int(real.sum()) * world  # this rank's real tokens; the others' are about as many
        if rank == 0 and (step % args.log_every == 0 or i == steps - 1):
            print(f"step {step}: loss {mean.item():.4f} lr {lr:.3g} grad-norm {norm:.3f} ({world} process{'es' if world > 1 else ''})", flush=True)
            # mlm-ts's training record: the mean loss since the previous one, the step's rate and norm
            metrics.log(step, {"split": "train", "loss": sum(since_log) / len(since_log), "lr": lr, "gradNorm": norm,
                               "tokensPerSec": tokens_seen / max(time.time() - t0, 1e-9), "epoch": epoch + 1})
            since_log = []

    end = start + steps
    if classifier:
        evaluation = classifier_evaluation(model, folder, cfg, rank, world)
        valid, scored = evaluation["loss"], {"valid_examples": evaluation["examples"], "valid_metrics": evaluation}
        what = f"accuracy {evaluation['accuracy']:.4f}, macro-F1 {evaluation['macroF1']:.4f} over {evaluation['examples']} sentences"
    else:
        valid, tokens_scored = validation_loss(model, folder, cfg, rank, world)
        evaluation = {"loss": valid, "perplexity": math.exp(min(valid, 700.0))}
        scored = {"valid_tokens": tokens_scored}
        what = f"over {tokens_scored} masked tokens"
    if rank == 0:
        print(f"step {end}: validation loss {valid:.6f} {what}, {time.time() - t0:.1f} s", flush=True)
        metrics.log(end, {"split": "valid", **evaluation})
        metrics.close()
        save(args.out, folder, model, opt, {**cfg, "train": {**cfg["train"], "totalSteps": t["totalSteps"]}}, end, {
            "step": end,
            "valid_loss": valid,
            **scored,
            "world_size": world,
            "train_losses": losses,
            "history_records": metrics.history_records,
        })
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


def save(out, folder, model, opt, cfg, step, state):
    """Writes OUT in the export layout: weights, moments (metadata step), config.json, tokenizer.json, trainer_state.json."""
    os.makedirs(out, exist_ok=True)
    named = list(model.named_parameters())
    write_safetensors(os.path.join(out, "model.safetensors"), {n: p.detach().cpu().numpy() for n, p in named})
    moments = {}
    for n, p in named:
        s = opt.state[p]
        moments[f"exp_avg.{n}"] = s["exp_avg"].cpu().numpy()
        moments[f"exp_avg_sq.{n}"] = s["exp_avg_sq"].cpu().numpy()
    write_safetensors(os.path.join(out, "optimizer.safetensors"), moments, {"step": step})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({**cfg, "step": step}, f, indent=2)
    shutil.copyfile(os.path.join(folder, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    history = os.path.join(folder, "history")
    if os.path.isdir(history) and os.path.abspath(history) != os.path.abspath(os.path.join(out, "history")):
        shutil.copytree(history, os.path.join(out, "history"), dirs_exist_ok=True)
    with open(os.path.join(out, "trainer_state.json"), "w") as f:
        json.dump(state, f, indent=2)


# ---------------------------------------------------------------------------------------------------
# gradients: the reference for mlm-ts's gradient test (test/interop/gradients.test.ts)


def mlm_task_loss(model, batch):
    """The masked-language-model task: (mean cross-entropy over the labelled tokens, logits [T,V] at every
    real token, sentence after sentence)."""
    ids, mask, labels = batch["ids"], batch["mask"], batch["labels"]
    logits = model(ids, mask)  # [B,L,V]
    keep = labels != IGNORE_LABEL
    loss = F.cross_entropy(logits[keep], labels[keep])
    return loss, logits[mask == 1]


def classify_task_loss(model, batch):
    """The fine-tuning classifier: (mean cross-entropy over the sentences, logits [B,N]). Each sentence's
    class is on its first token in labels [B,L] (-100 elsewhere), where mlm-ts's classifier batches carry it."""
    logits, loss = model(batch["ids"], batch["mask"], batch["labels"][:, 0])
    return loss, logits


# Each task of `gradients`: how to build its model from config.json and its loss and logits for one
# batch. "classify" needs config.json's "task": "text-classification" and "classifier" (id2label, pooling).
GRADIENT_TASKS = {
    "mlm": {"model": load_model, "loss": mlm_task_loss},
    "classify": {"model": load_classifier, "loss": classify_task_loss},
}


def read_gradient_batch(folder):
    """folder/{ids,mask,labels}.npy: int32 [B,L] each (labels -100 where there is no label), as int64 tensors."""
    batch = {}
    for name in ("ids", "mask", "labels"):
        batch[name] = torch.from_numpy(np.load(os.path.join(folder, f"{name}.npy")).astype(np.int64))
        if batch[name].shape != batch["ids"].shape:
            raise ValueError(f"{folder}/{name}.npy has shape {tuple(batch[name].shape)}, ids.npy {tuple(batch['ids'].shape)}")
    return batch


def gradients(args):
    """Loss, logits and every parameter's gradient of one fixed batch, then the losses of `--steps`
    updates on that same batch (clipping at gradClip, then Adam at learningRate: config.json's "train"),
    written to OUT/gradients.safetensors ("logits", "grad.<name>") and OUT/gradients.json
    ({"loss", "losses"}). Dropout is applied as configured: the test sets every rate to 0."""
    cfg = json.load(open(os.path.join(args.dir, "config.json")))
    task = GRADIENT_TASKS[args.task]
    model = task["model"](args.dir, cfg)
    model.train()
    batch = read_gradient_batch(args.batch)
    t = cfg["train"]
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=t["learningRate"], betas=(t["beta1"], t["beta2"]), eps=t["adamEps"])
    first, losses = None, []
    for step in range(args.steps + 1):
        opt.zero_grad(set_to_none=True)
        loss, logits = task["loss"](model, batch)
        loss.backward()
        if step == 0:
            first = {"loss": loss.item(), "logits": logits.detach().numpy().copy()}
            first.update({f"grad.{n}": p.grad.detach().numpy().copy() for n, p in model.named_parameters()})
        else:
            losses.append(loss.item())
        if step == args.steps:
            break
        clip_global_norm(params, t["gradClip"])
        opt.step()
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "gradients.safetensors"), {k: v for k, v in first.items() if k != "loss"})
    with open(os.path.join(args.out, "gradients.json"), "w") as f:
        json.dump({"loss": first["loss"], "losses": losses}, f)


def main(argv):
    parser = argparse.ArgumentParser(prog="mlm_torch.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train with DDP (torchrun-ready) and write OUT")
    tr.add_argument("dir")
    tr.add_argument("--out", required=True)
    how_long = tr.add_mutually_exclusive_group(required=True)
    how_long.add_argument("--steps", type=int, help="train N more steps (refused past the end of a decaying schedule)")
    how_long.add_argument("--max-steps", type=int, help="train to step M, a linear or cosine decay stretched to end there")
    tr.add_argument("--batch-size", type=int, default=None, help="global batch (default: the run's)")
    tr.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the run's)")
    tr.add_argument("--log-every", type=int, default=10)
    ev = sub.add_parser("eval", help="validation loss at the fixed masks")
    ev.add_argument("dir")
    lg = sub.add_parser("logits", help="logits [B,L,V] of int64 ids and mask [B,L] (.npy)")
    lg.add_argument("dir")
    lg.add_argument("ids")
    lg.add_argument("mask")
    lg.add_argument("out")
    gr = sub.add_parser("gradients", help="loss, logits, gradients of one batch and the losses of STEPS updates")
    gr.add_argument("dir")
    gr.add_argument("batch", help="folder of ids.npy, mask.npy, labels.npy (int32 [B,L])")
    gr.add_argument("out")
    gr.add_argument("--steps", type=int, default=10)
    gr.add_argument("--task", choices=sorted(GRADIENT_TASKS), default="mlm")
    cl = sub.add_parser("classify", help="a classifier's logits [B,N] and loss of int64 ids, mask [B,L], labels [B] (.npy)")
    for name in ("dir", "ids", "mask", "labels", "out"):
        cl.add_argument(name)
    args = parser.parse_args(argv)
    if args.command == "classify":
        classify_logits(args)
        return
    if args.command == "train":
        train(args)
        return
    if args.command == "gradients":
        gradients(args)
        return
    cfg = json.load(open(os.path.join(args.dir, "config.json")))
    if args.command == "eval" and is_classifier(cfg):
        print(json.dumps(classifier_evaluation(load_classifier(args.dir, cfg), args.dir, cfg)))
        return
    model = load_model(args.dir, cfg).eval()
    if args.command == "eval":
        loss, count = validation_loss(model, args.dir, cfg)
        print(json.dumps({"valid_loss": loss, "valid_tokens": count}))
    else:
        with torch.no_grad():
            ids = torch.from_numpy(np.load(args.ids).astype(np.int64))
            mask = torch.from_numpy(np.load(args.mask).astype(np.int64))
            np.save(args.out, model(ids, mask).numpy().astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1:])
