"""Layers several models share, and the base class every torch model derives from."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class Classifier(nn.Module):
    """Base of every torch model. ``forward(*inputs)`` takes the model's declared inputs in the order it
    declares them and returns class logits; ``training_loss`` is what training minimises. A model with a
    loss of its own (FR's proposal loss, Deep-Emotion's penalty, a domain term) overrides it."""

    def training_loss(
        self,
        inputs: Sequence[torch.Tensor],
        target: torch.Tensor,
        criterion: nn.Module,
        domain: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``criterion`` (the engine's cross-entropy: class weights, label smoothing) on the logits.
        ``domain``: each sample's table, as integer codes, for models whose loss uses it."""
        return criterion(self(*inputs), target)


def conv_bn(in_chans: int, out_chans: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_chans, out_chans, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_chans),
        nn.ReLU(inplace=True),
    )


class Inception(nn.Module):
    """Inception block: parallel 1x1, 3x3 and 5x5 convolution paths of ``width`` channels each,
    concatenated, so motion patterns of several extents (a lip corner, a brow) are seen at once. The
    paths halve the resolution themselves (stride 2) instead of GoogLeNet's pooling: on CPU, pooling
    layers over these maps took a third of a training step. GoogLeNet's fourth (3x3 max-pool) path is
    left out for the same reason.

    The three paths run as one 5x5 convolution whose 1x1 and 3x3 paths have their kernels masked to the
    centre (zero outside, and no gradient there): with the same centre and stride, that is exactly the
    three convolutions concatenated, in one kernel call instead of three (forward + backward of a block:
    5.3 -> 3.9 ms and 9.0 -> 6.3 ms on one CPU core, batch 64). Each path is initialised as its own
    ``nn.Conv2d`` would be. Batch norm and ReLU act on each channel alone, so one of each over the
    concatenation is the same function as one per path."""

    kernel_sizes = (1, 3, 5)

    def __init__(self, in_chans: int, width: int) -> None:
        super().__init__()
        self.out_chans = len(self.kernel_sizes) * width
        size = max(self.kernel_sizes)
        self.weight = nn.Parameter(torch.zeros(self.out_chans, in_chans, size, size))
        mask = torch.zeros(self.out_chans, 1, size, size)
        for path, kernel in enumerate(self.kernel_sizes):
            rows, start = slice(path * width, (path + 1) * width), (size - kernel) // 2
            inside = (slice(start, start + kernel), slice(start, start + kernel))
            mask[rows, :, inside[0], inside[1]] = 1.0
            # nn.Conv2d's default: kaiming_uniform_(a=sqrt(5)), i.e. U(-b, b) with b = 1 / sqrt(fan_in).
            bound = 1.0 / math.sqrt(in_chans * kernel * kernel)
            with torch.no_grad():
                self.weight[rows, :, inside[0], inside[1]].uniform_(-bound, bound)
        self.register_buffer("mask", mask)
        self.norm = nn.BatchNorm2d(self.out_chans)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = max(self.kernel_sizes) // 2
        return F.relu(self.norm(F.conv2d(x, self.weight * self.mask, stride=2, padding=padding)), inplace=True)


class Dropout(nn.Dropout):
    """``nn.Dropout`` with its mask drawn by ``torch.rand`` rather than ``bernoulli_``: the same
    distribution, twice as fast on CPU (1.3 -> 0.6 ms for FR's 64 x 1176 features), where dropout's two
    masks were 6 % of a training step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return x * (torch.rand_like(x) >= self.p) / (1.0 - self.p)


class GroupedLinear(nn.Module):
    """``groups`` independent linear layers, each reading its own slice of the input: (B, groups * in) ->
    (B, groups * out). The same function as a grouped 1x1 ``Conv1d`` with PyTorch's default initialisation,
    run as one batched matrix product, which on CPU was 8x faster than the grouped convolution (forward +
    backward, batch 64, 3 groups of 392 -> 32)."""

    def __init__(self, in_features: int, out_features: int, groups: int) -> None:
        super().__init__()
        if in_features % groups or out_features % groups:
            raise ValueError(f"{in_features} inputs and {out_features} outputs do not split into {groups} groups")
        self.groups = groups
        fan_in = in_features // groups
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = nn.Parameter(torch.empty(groups, fan_in, out_features // groups).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(groups, 1, out_features // groups).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_group = x.reshape(x.shape[0], self.groups, -1).transpose(0, 1)  # (groups, B, in)
        return torch.baddbmm(self.bias, per_group, self.weight).transpose(0, 1).reshape(x.shape[0], -1)
