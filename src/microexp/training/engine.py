"""Fit a registered model on one training set and predict class probabilities.

Everything a model learns from (normalisation statistics, class weights, an optional validation
split for early stopping) comes from the training rows it is given: the caller passes test rows
only to ``predict_proba``. Same seed, same data, same machine: same predictions.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from microexp.data.protocols import SubjectValidationSplit
from microexp.errors import ConfigError
from microexp.models.registry import InputSpec, create_model, get_model_info
from microexp.training.config import TrainConfig
from microexp.training.seeding import seed_everything

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, int, float], None]  # (epoch, epochs, mean training loss)
# (epoch, the model so far): for diagnostics that watch training, such as benchmarks/epoch_selection_bias.py.
EpochInspector = Callable[[int, "TrainedModel"], None]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def mirror_flow(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """Left-right mirror of raw (0–255, per-image min-max) inputs. Mirroring a flow field negates its
    horizontal component u, which for min-max scaled u is exactly ``255 - u``; v and strain keep."""
    mirrored = x.flip(-1)
    if spec.modality in ("flow", "apex+flow"):
        u = spec.channels - 3 if spec.modality == "apex+flow" else 0
        mirrored[:, u] = 255.0 - mirrored[:, u]
    return mirrored


def random_affine(x: torch.Tensor, *, shift: float, degrees: float, generator: torch.Generator) -> torch.Tensor:
    """Each image of the batch (B, C, H, W) moved by up to ``shift`` of its side and turned by up to
    ``degrees``, drawn independently; pixels from outside repeat the border."""
    batch = len(x)
    angle = (torch.rand(batch, generator=generator) * 2 - 1) * np.deg2rad(degrees)
    offset = (torch.rand(batch, 2, generator=generator) * 2 - 1) * 2 * shift  # grid coordinates span 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1).to(x)
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)


@dataclass
class TrainedModel:
    """A fitted model plus the training-set statistics its inputs are standardised with."""

    name: str
    num_classes: int
    input_spec: InputSpec
    model: Any  # nn.Module (backend torch) or a scikit-learn style classifier
    mean: np.ndarray  # per input channel, from the training rows only
    std: np.ndarray
    options: Mapping[str, Any]
    device: torch.device = torch.device("cpu")
    test_flip: bool = False  # average over each input and its mirror image (torch models)

    def _standardise(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        shape = (1, -1, 1, 1) if x.dim() == 4 else (1, 1, -1, 1, 1)
        mean = torch.as_tensor(self.mean, dtype=torch.float32).view(shape).to(x.device)
        std = torch.as_tensor(self.std, dtype=torch.float32).view(shape).to(x.device)
        return (x - mean) / std

    @torch.no_grad()
    def predict_proba(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        if not isinstance(self.model, nn.Module):
            proba = self.model.predict_proba(x)
            full = np.zeros((len(x), self.num_classes))
            full[:, self.model.classes_] = proba  # a class missing from training keeps probability 0
            return full
        self.model.eval()
        outputs = []
        for start in range(0, len(x), batch_size):
            raw = torch.as_tensor(x[start : start + batch_size], dtype=torch.float32)
            proba = torch.softmax(self.model(self._standardise(raw).to(self.device)), dim=1)
            if self.test_flip:
                mirrored = self._standardise(mirror_flow(raw, self.input_spec)).to(self.device)
                proba = (proba + torch.softmax(self.model(mirrored), dim=1)) / 2
            outputs.append(proba.cpu())
        return torch.cat(outputs).double().numpy()


def channel_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    axes = (0, 2, 3) if x.ndim == 4 else (0, 1, 3, 4)
    mean = x.mean(axis=axes)
    std = x.std(axis=axes)
    return mean, np.where(std > 1e-6, std, 1.0)


def train_model(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    num_classes: int,
    seed: int,
    config: TrainConfig | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_epoch: EpochCallback | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    inspect_epoch: EpochInspector | None = None,
) -> TrainedModel:
    """Train ``name`` on (x, y); ``groups`` are the subjects of the rows (for inner validation).
    ``validation``: a fixed (x, y) validation set for early stopping (a database's official one) instead
    of validation subjects drawn from the training rows; never fitted on, unused without early stopping.
    ``inspect_epoch`` sees the model after every epoch (torch models); it may predict but must not train,
    and the training is the same with or without it (prediction draws no random numbers)."""
    info = get_model_info(name)
    config = config or TrainConfig.from_dict(dict(info.training))
    options = dict(model_options or {})
    generator = seed_everything(seed)
    mean, std = channel_statistics(x)
    if info.backend == "sklearn":
        model = create_model(name, num_classes=num_classes, **options)
        model.fit(x, y, groups=groups)
        return TrainedModel(name, num_classes, info.input_spec, model, mean, std, options)

    modality = info.input_spec.modality
    if (config.augment_rotate and modality != "apex") or (config.augment_shift and modality == "frames"):
        raise ConfigError(
            f"{name} takes {info.input_spec.describe()}: augment_rotate is for apex images only (flow "
            "vectors would need turning too) and augment_shift for single images; use augment_flip"
        )
    device = resolve_device(config.device)
    model = create_model(name, num_classes=num_classes, in_chans=x.shape[-3], **options).to(device)
    trained = TrainedModel(name, num_classes, info.input_spec, model, mean, std, options, device, config.test_flip)
    x_all = torch.as_tensor(x, dtype=torch.float32)
    y_all = torch.tensor(y, dtype=torch.long)  # a copy: the table hands out its labels read-only
    fit_rows, val_rows = np.arange(len(x)), np.array([], dtype=np.int64)
    if config.early_stopping_patience is not None and validation is not None:
        x_all = torch.cat([x_all, torch.as_tensor(validation[0], dtype=torch.float32)])
        y_all = torch.cat([y_all, torch.as_tensor(validation[1], dtype=torch.long)])
        val_rows = np.arange(len(x), len(x_all))
    elif config.early_stopping_patience is not None:
        fit_rows, val_rows = SubjectValidationSplit(config.val_fraction, seed).split(groups)

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
    x_fit, y_fit = x_all[fit_rows].to(device), y_all[fit_rows].to(device)
    best_loss, best_state, stale = float("inf"), None, 0
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(fit_rows), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            if len(index) < 2 and len(order) > 1:
                continue  # a batch of one breaks batch norm and teaches nothing
            batch_x, batch_y = x_fit[index], y_fit[index]
            if config.augment_flip:
                flip = torch.rand(len(index), generator=generator).to(device) < 0.5
                batch_x = torch.where(
                    flip.view(-1, *[1] * (batch_x.dim() - 1)), mirror_flow(batch_x, info.input_spec), batch_x
                )
            if config.augment_shift or config.augment_rotate:
                batch_x = random_affine(
                    batch_x, shift=config.augment_shift, degrees=config.augment_rotate, generator=generator
                )
            batch_x = trained._standardise(batch_x)
            loss = (
                model.training_loss(batch_x, batch_y, criterion)
                if hasattr(model, "training_loss")
                else criterion(model(batch_x), batch_y)
            )
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
            val_loss = _validation_loss(trained, x_all[val_rows], y_all[val_rows], criterion)
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
    return trained


@torch.no_grad()
def _validation_loss(trained: TrainedModel, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module) -> float:
    trained.model.eval()
    logits = trained.model(trained._standardise(x.to(trained.device)))
    return float(criterion(logits, y.to(trained.device)))


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    parameters = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    # The fused kernels update all parameters in one pass: on CPU the per-tensor loop cost OFF-ApexNet's
    # 2.7M fully connected weights about 40 % of each step. Still deterministic.
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay, fused=True)
