"""Fit a registered model on one training set of samples and predict class probabilities.

Everything a model learns from (normalisation statistics, class weights, an optional validation
split for early stopping) comes from the training samples it is given: the caller passes test samples
only to ``predict_proba``. Same seed, same data, same machine: same predictions.

Samples come from a :class:`~microexp.inputs.dataset.SampleDataset`. A training set that fits in
``PRELOAD_BYTES`` is read once into memory (a fold of the composite is 4 MB); a larger one is streamed
from the input cache batch by batch, so memory stays flat however long the clips. Both give the same
numbers; the standardisation statistics of a streamed set are summed in float64 instead.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from microexp.data.splitters import SubjectValidationSplit
from microexp.errors import ConfigError
from microexp.inputs.dataset import SampleDataset
from microexp.inputs.registry import builder_kind
from microexp.inputs.transforms import apply_affine, draw_affine, mirror_where
from microexp.models.registry import create_model, get_model_info
from microexp.training.config import TrainConfig
from microexp.training.seeding import seed_everything
from microexp.training.trained import TrainedModel, axes_of, channel_statistics, flat_features, resolve_device

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, int, float], None]  # (epoch, epochs, mean training loss)
# (epoch, the model so far): for diagnostics that watch training, such as benchmarks/epoch_selection_bias.py.
EpochInspector = Callable[[int, "TrainedModel"], None]


# A training set up to this size is held in memory for the whole training; a larger one is streamed.
PRELOAD_BYTES = 256 * 2**20
Inputs = dict[str, np.ndarray]


def streamed_statistics(dataset: SampleDataset, name: str, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of one input over a dataset too large to hold, in float64 sums."""
    total = total_sq = None
    count = 0
    for start in range(0, len(dataset), chunk):
        x = dataset.arrays(range(start, min(start + chunk, len(dataset))))[name].astype(np.float64)
        axes = axes_of(x.ndim)
        part, part_sq = x.sum(axis=axes), (x * x).sum(axis=axes)
        total = part if total is None else total + part
        total_sq = part_sq if total_sq is None else total_sq + part_sq
        count += x.size // part.size
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean * mean, 0.0))
    return mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)


class _Batches:
    """The training samples' inputs, in memory or read from the cache for each batch."""

    def __init__(self, dataset: SampleDataset, extra: SampleDataset | None, device: torch.device) -> None:
        self.parts = [dataset] + ([extra] if extra is not None else [])
        self.offset = len(dataset)
        self.device = device
        size = sum(part.nbytes() for part in self.parts)
        self.memory = None
        if size <= PRELOAD_BYTES:
            arrays = [part.arrays() for part in self.parts]
            self.memory = {
                name: torch.as_tensor(np.concatenate([a[name] for a in arrays]), dtype=torch.float32).to(device)
                for name in dataset.specs
            }

    def take(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.memory is not None:
            return {name: x[rows] for name, x in self.memory.items()}
        rows = rows.cpu().numpy()
        first = rows[rows < self.offset]
        chunks = [self.parts[0].arrays(first)]
        if len(self.parts) > 1:
            chunks.append(self.parts[1].arrays(rows[rows >= self.offset] - self.offset))
        order = np.argsort(np.concatenate([np.flatnonzero(rows < self.offset), np.flatnonzero(rows >= self.offset)]))
        return {
            name: torch.as_tensor(np.concatenate([c[name] for c in chunks])[order], dtype=torch.float32).to(self.device)
            for name in self.parts[0].specs
        }


def domain_codes(dataset: SampleDataset) -> np.ndarray:
    """Each sample's table as an integer, for models whose loss uses it: 0 for every row of the evaluated
    database, then 1 and up for the training-only tables (macro-expression data), sorted by name. So a
    transfer model tells its own rows (code 0) from the rows it only learns from (codes 1 and up). The
    composite's parts (CASME II, SAMM, SMIC) are one evaluated database: all code 0, so that a composite
    without a macro table never passes SAMM for macro data."""
    roles = np.asarray(dataset.roles)
    training_only = sorted(set(dataset.domains[roles != "evaluate"]))
    codes = {domain: code for code, domain in enumerate(training_only, 1)}
    return np.array(
        [0 if role == "evaluate" else codes[d] for d, role in zip(dataset.domains, roles, strict=True)], dtype=np.int64
    )


def train_model(
    name: str,
    train: SampleDataset,
    *,
    num_classes: int,
    seed: int,
    config: TrainConfig | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_epoch: EpochCallback | None = None,
    validation: SampleDataset | None = None,
    inspect_epoch: EpochInspector | None = None,
    initial: TrainedModel | None = None,
) -> TrainedModel:
    """Train ``name`` on the samples of ``train``; their subjects make the inner validation split.
    ``validation``: a fixed validation set for early stopping (a database's official one) instead of
    validation subjects drawn from the training samples; never fitted on, unused without early stopping.
    ``inspect_epoch`` sees the model after every epoch (torch models); it may predict but must not train,
    and the training is the same with or without it (prediction draws no random numbers).
    ``initial``: a model of the same name and classes (an earlier training stage) whose weights this
    training starts from; the standardisation statistics are this training set's own."""
    info = get_model_info(name)
    config = config or TrainConfig.from_dict(dict(info.training))
    options = dict(model_options or {})
    if set(train.specs) != set(info.inputs):
        raise ConfigError(f"model {name!r} takes inputs {list(info.inputs)}; the samples hold {list(train.specs)}")
    y = train.labels.copy()  # a copy: the table hands out its labels read-only
    groups = train.subjects
    generator = seed_everything(seed)
    if info.backend == "sklearn" or train.nbytes() <= PRELOAD_BYTES:
        arrays = train.arrays()
        statistics = {key: channel_statistics(arrays[key]) for key in info.inputs}
    else:
        statistics = {key: streamed_statistics(train, key) for key in info.inputs}
    mean = {key: value[0] for key, value in statistics.items()}
    std = {key: value[1] for key, value in statistics.items()}
    if info.backend == "sklearn":
        model = create_model(name, num_classes=num_classes, **options)
        model.fit(flat_features(arrays, info.inputs), y, groups=groups)
        return TrainedModel(name, num_classes, info.inputs, model, mean, std, options)

    kinds = {key: builder_kind(spec) for key, spec in info.inputs.items()}
    if (config.augment_flip or config.test_flip) and "vector" in kinds.values():
        raise ConfigError(
            f"{name} takes {info.describe_inputs()}: a feature vector has no mirror image; "
            "set train.augment_flip=false and train.test_flip=false"
        )
    if config.augment_rotate and set(kinds.values()) != {"image"}:
        raise ConfigError(
            f"{name} takes {info.describe_inputs()}: augment_rotate is for face images only (flow vectors "
            "would need turning too); use augment_flip or augment_shift"
        )
    device = resolve_device(config.device)
    model = create_model(name, num_classes=num_classes, **options)
    if initial is not None:
        model.load_state_dict(initial.model.state_dict())
    model = model.to(device)
    trained = TrainedModel(name, num_classes, info.inputs, model, mean, std, options, device, config.test_flip)
    fit_rows, val_rows = np.arange(len(train)), np.array([], dtype=np.int64)
    labels = torch.as_tensor(y, dtype=torch.long)
    extra = None
    if config.early_stopping_patience is not None and validation is not None:
        extra = validation
        labels = torch.cat([labels, torch.as_tensor(validation.labels.copy(), dtype=torch.long)])
        val_rows = np.arange(len(train), len(train) + len(validation))
    elif config.early_stopping_patience is not None:
        fit_rows, val_rows = SubjectValidationSplit(config.val_fraction, seed).split(groups)
    batches = _Batches(train, extra, device)
    domains = torch.as_tensor(domain_codes(train), dtype=torch.long)

    weight = None
    if config.class_weighting:
        counts = np.bincount(y[fit_rows], minlength=num_classes).astype(float)
        weight = torch.as_tensor(
            len(fit_rows) / (num_classes * np.maximum(counts, 1)), dtype=torch.float32, device=device
        )
    criterion = nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)
    optimizer = _make_optimizer(model, config)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs) if config.cosine_schedule else None
    )
    fit_index = torch.as_tensor(fit_rows, dtype=torch.long).to(device)
    labels = labels.to(device)
    best_loss, best_state, stale = float("inf"), None, 0
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(fit_rows), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            if len(index) < 2 and len(order) > 1:
                continue  # a batch of one breaks batch norm and teaches nothing
            rows = fit_index[index]
            batch = batches.take(rows)
            if config.augment_flip:
                flip = torch.rand(len(index), generator=generator).to(device) < 0.5
                batch = mirror_where(batch, kinds, flip)
            if config.augment_shift or config.augment_rotate:
                theta = draw_affine(
                    len(index), shift=config.augment_shift, degrees=config.augment_rotate, generator=generator
                )
                batch = {key: apply_affine(x, theta) for key, x in batch.items()}
            batch_domain = domains[rows.cpu()].to(device)  # training rows all come from ``train``
            loss = model.training_loss(trained.standardise(batch), labels[rows], criterion, domain=batch_domain)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        if scheduler is not None:
            scheduler.step()
        mean_loss = total / len(order)
        if on_epoch is not None:
            on_epoch(epoch + 1, config.epochs, mean_loss)
        if inspect_epoch is not None:
            inspect_epoch(epoch + 1, trained)
        if len(val_rows):
            val_loss = _validation_loss(trained, batches, torch.as_tensor(val_rows), labels, criterion)
            if val_loss < best_loss - 1e-4:
                best_loss, best_state, stale = val_loss, copy.deepcopy(model.state_dict()), 0
            else:
                stale += 1
                if stale >= config.early_stopping_patience:
                    logger.info("early stopping at epoch %d (validation loss %.4f)", epoch + 1, best_loss)
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    finish = getattr(model, "finish_training", None)
    if finish is not None:  # a model that keeps a summary of its training rows (MaNet's, to teach MiNet later)
        with torch.no_grad():
            finish(trained.standardise(batches.take(fit_index)), labels[fit_index])
    return trained


@torch.no_grad()
def _validation_loss(
    trained: TrainedModel, batches: _Batches, rows: torch.Tensor, labels: torch.Tensor, criterion: nn.Module
) -> float:
    trained.model.eval()
    logits = trained.model(*trained.standardise(batches.take(rows.to(labels.device))))
    return float(criterion(logits, labels[rows.to(labels.device)]))


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    parameters = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    # The fused kernels update all parameters in one pass: on CPU the per-tensor loop cost OFF-ApexNet's
    # 2.7M fully connected weights about 40 % of each step. Still deterministic.
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay, fused=True)
