"""FR: Feature Refinement, expression-specific feature learning and fusion (Zhou, Mao, Huang, Zhang and
Zhang, Pattern Recognition 2022).

What the paper describes, and how it maps onto this module:

1. An inception module over the onset→apex optical flow (u, v, optical strain) gives *expression-shared*
   features: :class:`Inception` (parallel 1x1, 3x3 and 5x5 convolutions, concatenated).
2. An *expression proposal module* with attention turns the shared features into one *expression-specific*
   feature per class. Each class has its own convolution, its own spatial attention map (an "attention
   factor" per position, a sigmoid) and its own binary proposal classifier ("is this clip class k?"). The
   *proposal loss* is the binary cross-entropy of those K one-vs-rest classifiers.
3. A *classification branch* fuses the K expression-specific features (concatenation, then one linear
   layer) and predicts the class; its cross-entropy is added to the proposal loss.

The text of the paper we could reach (its abstract and summaries) gives this structure but not the
layer sizes, loss weight or schedule, so these are our choices, kept small because the input is a 28x28
flow, there are 442 clips and a LOSO run must fit on two CPU cores: two inception blocks (1x1, 3x3, 5x5
paths of 6 then 8 channels, stride 2, so 18 channels at 14x14 then 24 at 7x7), one 3x3 convolution of
8 channels per class on the 7x7 shared map, attention by a 1x1 convolution + sigmoid per class, the
attention-weighted map flattened (keeping *where* the motion is) and embedded per class by a linear layer
to 32 values (the expression-specific feature), dropout 0.5 around that layer, proposal-loss weight 1.0,
and the criterion's class weights also on the one-vs-rest proposal terms. The training defaults in
``FR_TRAINING`` are fixed in advance, not tuned on test folds; docs/results/fr.md says how they were
chosen and what they score (UF1 0.733 ± 0.006 over 3 seeds, below the paper's 0.784; 0.81 when each
fold's epoch is picked on its own test clips, which microexp never does: benchmarks/epoch_selection_bias.py).

Ablations (registered variants, so ``microexp evaluate --model fr_no_attention`` just works):

- ``fr_no_proposal``: one branch as wide as the K together (no per-class branches, no proposal loss).
- ``fr_no_attention``: per-class branches and proposal loss kept; the maps are not attention-weighted.
- ``fr_no_fusion``: no classification branch; the K proposal scores are the class logits.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from microexp.models.registry import InputSpec, register_model

FR_TRAINING = {
    "epochs": 40,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "cosine_schedule": True,
    "class_weighting": True,
    "augment_flip": True,
    "test_flip": True,
}


def _conv_bn(in_chans: int, out_chans: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
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


class FeatureRefinement(nn.Module):
    def __init__(
        self,
        num_classes: int,
        in_chans: int = 3,
        input_size: int = 28,
        widths: tuple[int, int] = (6, 8),
        specific_chans: int = 8,
        feature_dim: int = 32,
        proposal: bool = True,
        attention: bool = True,
        fusion: bool = True,
        proposal_weight: float = 1.0,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if not proposal and not fusion:
            raise ValueError("FR without the proposal module needs the fusion branch to classify")
        self.num_classes = num_classes
        self.proposal_weight = proposal_weight
        first = Inception(in_chans, widths[0])
        second = Inception(first.out_chans, widths[1])
        self.shared = nn.Sequential(first, second)
        grid = math.ceil(math.ceil(input_size / 2) / 2)  # two stride-2 blocks
        # Without proposals there is one branch as wide as the K branches together (same capacity).
        self.branches = num_classes if proposal else 1
        self.specific_chans = specific_chans * num_classes // self.branches
        width = self.branches * self.specific_chans
        # One convolution with K groups of output channels is exactly K independent per-class
        # convolutions over the shared map, run as one kernel; grouped layers below keep them apart.
        self.specific = _conv_bn(second.out_chans, width, 3)
        self.attend = nn.Conv2d(width, self.branches, 1, groups=self.branches) if attention else None
        # The expression-specific feature keeps *where* the motion is (a flattened map, not a global
        # average): the position of a movement on the face is what tells the expressions apart.
        dim = feature_dim * num_classes // self.branches
        self.embed = nn.Sequential(
            Dropout(dropout),
            GroupedLinear(width * grid * grid, self.branches * dim, self.branches),
            nn.ReLU(inplace=True),
            Dropout(dropout),
        )
        # Each class's binary proposal classifier reads only that class's feature.
        self.propose = GroupedLinear(num_classes * dim, num_classes, num_classes) if proposal else None
        self.classify = nn.Linear(self.branches * dim, num_classes) if fusion else None
        # Channels-last weights: these small convolutions ran 1.2-1.8x faster on CPU this way (forward + backward).
        self.to(memory_format=torch.channels_last)

    def _branch_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-branch feature maps (B, K, d, h, w) and attention maps (B, K, h, w) or None."""
        # Converted once here, not by each of the first inception block's three paths.
        features = self.specific(self.shared(x.contiguous(memory_format=torch.channels_last)))
        b, _, h, w = features.shape
        maps = features.view(b, self.branches, self.specific_chans, h, w)
        attention = torch.sigmoid(self.attend(features)) if self.attend is not None else None
        return maps, attention

    def _outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(class logits, proposal logits or None)."""
        maps, attention = self._branch_maps(x)
        if attention is not None:
            maps = maps * attention.unsqueeze(2)
        # Flattened branch-major: (B, K * d * h * w), so each branch's slice is contiguous.
        specific = self.embed(maps.flatten(1))  # (B, K * dim)
        proposals = self.propose(specific) if self.propose is not None else None
        logits = self.classify(specific) if self.classify is not None else proposals
        return logits, proposals

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._outputs(x)[0]

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module) -> torch.Tensor:
        """Classification loss (the engine's criterion: class weights, label smoothing) plus the weighted
        proposal loss: one-vs-rest binary cross-entropy of each class's proposal classifier."""
        logits, proposals = self._outputs(x)
        loss = criterion(logits, y)
        if proposals is not None:
            targets = F.one_hot(y, self.num_classes).float()
            # The criterion's class weights (if any) also balance the one-vs-rest terms.
            weight = getattr(criterion, "weight", None)
            per_sample = weight[y].unsqueeze(1) if weight is not None else None
            loss = loss + self.proposal_weight * F.binary_cross_entropy_with_logits(
                proposals, targets, weight=per_sample
            )
        return loss

    def class_attention(self, x: torch.Tensor) -> torch.Tensor:
        """Each class's attention map (B, K, h, w) on the shared feature grid, values in [0, 1]. Without
        attention (or with one shared branch), the mean activation of each branch stands in."""
        maps, attention = self._branch_maps(x)
        if attention is None:
            attention = maps.mean(dim=2)
            attention = attention / attention.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-6)
        if attention.shape[1] == 1:
            attention = attention.expand(-1, self.num_classes, -1, -1)
        return attention


FLOW = InputSpec("flow", channels=3, size=28)


@register_model("fr", input_spec=FLOW, training=FR_TRAINING)
def fr(
    *,
    num_classes: int,
    in_chans: int,
    specific_chans: int = 8,
    feature_dim: int = 32,
    proposal_weight: float = 1.0,
    dropout: float = 0.5,
) -> FeatureRefinement:
    """FR (Zhou et al. 2022): inception shared features, per-class attention proposals, fused classifier."""
    return FeatureRefinement(
        num_classes,
        in_chans,
        FLOW.size,
        specific_chans=specific_chans,
        feature_dim=feature_dim,
        proposal_weight=proposal_weight,
        dropout=dropout,
    )


@register_model("fr_no_proposal", input_spec=FLOW, training=FR_TRAINING)
def fr_no_proposal(
    *, num_classes: int, in_chans: int, specific_chans: int = 8, feature_dim: int = 32, dropout: float = 0.5
) -> FeatureRefinement:
    """FR ablation: one attention branch as wide as FR's K together; no per-class proposals or their loss."""
    return FeatureRefinement(
        num_classes,
        in_chans,
        FLOW.size,
        specific_chans=specific_chans,
        feature_dim=feature_dim,
        proposal=False,
        dropout=dropout,
    )


@register_model("fr_no_attention", input_spec=FLOW, training=FR_TRAINING)
def fr_no_attention(
    *,
    num_classes: int,
    in_chans: int,
    specific_chans: int = 8,
    feature_dim: int = 32,
    proposal_weight: float = 1.0,
    dropout: float = 0.5,
) -> FeatureRefinement:
    """FR ablation: per-class proposals from the unweighted feature maps (no attention)."""
    return FeatureRefinement(
        num_classes,
        in_chans,
        FLOW.size,
        specific_chans=specific_chans,
        feature_dim=feature_dim,
        attention=False,
        proposal_weight=proposal_weight,
        dropout=dropout,
    )


@register_model("fr_no_fusion", input_spec=FLOW, training=FR_TRAINING)
def fr_no_fusion(
    *,
    num_classes: int,
    in_chans: int,
    specific_chans: int = 8,
    feature_dim: int = 32,
    proposal_weight: float = 1.0,
    dropout: float = 0.5,
) -> FeatureRefinement:
    """FR ablation: no classification branch; the per-class proposal scores are the class logits."""
    return FeatureRefinement(
        num_classes,
        in_chans,
        FLOW.size,
        specific_chans=specific_chans,
        feature_dim=feature_dim,
        fusion=False,
        proposal_weight=proposal_weight,
        dropout=dropout,
    )
