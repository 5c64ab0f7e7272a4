"""FDP, Fine-grained Dynamic Perception (Cai et al.): each raw frame encoded by a local-global
feature-aware transformer, the frame features scored in chronological order by a rank scorer and pooled over
time into one dynamic representation, shared by the expression head and an encoder-decoder that rebuilds the
clip's dynamic image (:mod:`microexp.preprocess.dynamic`). Loss: cross-entropy + λ · MSE(rebuilt dynamic
image, the dynamic image of the input frames).

Facts taken from the paper and the authors' released code (never its code): 8 frames of 64x64 grey faces;
a NextViT-like encoder (stem 64-32-64, stages of 3, 4, 10, 3 local blocks, each stage closed by a global
block; local widths 96-192-384-768, global 128-256-512-1024; spatial-reduction ratios 8, 4, 2, 1; head
dimension 8; 3/4 of a global block's channels in attention; stochastic depth 0.1); each frame's feature is
4096 values read as a 64x64 map; the rank scorer is a 3-D convolution whose kernel spans the clip's frames
(3x3 in space, 8 output maps); the head max-pools the representation 3x3 and has a 256-unit hidden layer;
the decoder is a SegNet; λ = 100; Adam at 1e-4, weight decay 1e-3, batches of 36, 500 steps.

Where this differs from the released code, on purpose (the paper describes the other):
- every stage ends with its global block (the released loop never builds it);
- the frame features are stacked as (time, height, width) before the rank scorer (the released code
  reshapes (frames, 4096) to (64, 64, 8) without a permute, so its "temporal" kernel runs over one frame's
  features and time is mixed into space);
- the multi-head convolution is grouped by head and followed by a pointwise convolution, as the paper's
  local relational aggregator (the released one is a plain 3x3 convolution);
- the target dynamic image is that of the model's own (augmented, standardised) input frames: rank pooling
  is linear with weights summing to zero, so after min-max scaling it equals the dynamic image of the raw
  frames, and a mirrored or shifted clip gets a mirrored or shifted target.

Where the paper is silent, chosen here: the rank scorer reads the frame features less their mean over
the clip, so what all frames share cancels as in rank pooling (:class:`RankScorer`); spatial reduction
pools the token map 2-D (PVT's meaning of it), not the flattened sequence 1-D; the decoder's stages have
two 3x3 convolutions each and unpool with the encoder's pooling indices, and, when the representation map
is smaller than the frame, end with bilinear upsampling stages to the frame's side; the rebuilt image
passes a sigmoid and the target is min-max scaled to [0, 1] per clip (a still clip: 0.5), as the released
training scales it.

The default (``fdp``) is the same blocks made small enough to train a fold of CK+ sequences on a laptop
CPU: stem 8-8-16, two stages of one local and one global block (widths 16-48), all at 16x16, and each
frame's feature is its last map projected to 4 channels in place (``pooled=False``) rather than a global
average spread back over a pseudo-map: with a few dozen training clips, a motion of a pixel or two has to
stay where it happened to be learnt. ``fdp_paper`` is the paper's size and the released code's pooled
features, for GPU users. Ablations: ``fdp_no_decoder`` (λ = 0, no decoder), ``fdp_mean_pool``
(the frame features averaged over time instead of rank-scored: order no longer matters) and ``fdp_apex``
(the encoder and head on the apex frame alone: no time at all).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from microexp.errors import ConfigError
from microexp.models.layers import Classifier, conv_bn
from microexp.models.registry import register_model
from microexp.preprocess.dynamic import rank_pooling_weights


class DropPath(nn.Module):
    """Stochastic depth: a residual branch dropped for a whole sample with probability ``p`` in training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape[0], *[1] * (x.dim() - 1), device=x.device) >= self.p
        return x * keep / (1 - self.p)


def patch_embed(in_chans: int, out_chans: int, stride: int) -> nn.Module:
    """Halve the side by 2x2 average pooling and/or change the channels by a pointwise convolution."""
    layers: list[nn.Module] = []
    if stride == 2:
        layers.append(nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False))
    if stride == 2 or in_chans != out_chans:
        layers += [nn.Conv2d(in_chans, out_chans, 1, bias=False), nn.BatchNorm2d(out_chans)]
    return nn.Sequential(*layers)


class MultiHeadConv(nn.Module):
    """Multi-head convolution: a 3x3 convolution within each head's channels, then a pointwise convolution
    that lets the heads exchange what they found."""

    def __init__(self, chans: int, head_dim: int) -> None:
        super().__init__()
        self.heads = nn.Sequential(
            nn.Conv2d(chans, chans, 3, padding=1, groups=chans // head_dim, bias=False),
            nn.BatchNorm2d(chans),
            nn.ReLU(inplace=True),
        )
        self.pointwise = nn.Conv2d(chans, chans, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.heads(x))


def conv_mlp(chans: int, ratio: float, dropout: float) -> nn.Sequential:
    hidden = max(8, int(round(chans * ratio)))
    return nn.Sequential(
        nn.Conv2d(chans, hidden, 1), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Conv2d(hidden, chans, 1)
    )


class LocalBlock(nn.Module):
    """Local relational aggregator: multi-head convolution and an MLP, each on a residual path."""

    def __init__(self, in_chans: int, out_chans: int, stride: int, head_dim: int, drop_path: float) -> None:
        super().__init__()
        self.embed = patch_embed(in_chans, out_chans, stride)
        self.attention = MultiHeadConv(out_chans, head_dim)
        self.norm = nn.BatchNorm2d(out_chans)
        self.mlp = conv_mlp(out_chans, 3.0, 0.0)
        self.drop = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        x = x + self.drop(self.attention(x))
        return x + self.drop(self.mlp(self.norm(x)))


class ReducedAttention(nn.Module):
    """Multi-head self-attention over a map's positions whose keys and values come from the map average-
    pooled by ``reduction`` (spatial reduction): every position sees the whole face at 1/reduction² cost."""

    def __init__(self, chans: int, head_dim: int, reduction: int) -> None:
        super().__init__()
        self.heads = chans // head_dim
        self.scale = head_dim**-0.5
        self.query = nn.Linear(chans, chans)
        self.key_value = nn.Linear(chans, 2 * chans)
        self.out = nn.Linear(chans, chans)
        self.reduce = (
            nn.Sequential(nn.AvgPool2d(reduction, reduction), nn.BatchNorm2d(chans))
            if reduction > 1
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape

        def split(tokens: torch.Tensor) -> torch.Tensor:
            return tokens.reshape(b, -1, self.heads, c // self.heads).transpose(1, 2)

        query = self.query(x.flatten(2).transpose(1, 2))
        key, value = self.key_value(self.reduce(x).flatten(2).transpose(1, 2)).chunk(2, dim=-1)
        # written out: with a few reduced keys, torch's fused CPU kernel is several times slower than this
        weights = (split(query) @ split(key).transpose(-2, -1) * self.scale).softmax(dim=-1)
        mixed = weights @ split(value)
        mixed = self.out(mixed.transpose(1, 2).reshape(b, h * w, c))
        return mixed.transpose(1, 2).reshape(b, c, h, w)


class GlobalBlock(nn.Module):
    """Global relational aggregator: attention with spatial reduction on ``mix`` of the output channels, a
    multi-head convolution on the rest (from the attended map), concatenated, then an MLP; residual paths."""

    def __init__(
        self, in_chans: int, out_chans: int, stride: int, head_dim: int, reduction: int, mix: float, drop_path: float
    ) -> None:
        super().__init__()
        attended = max(head_dim, int(out_chans * mix) // head_dim * head_dim)
        local = out_chans - attended
        if local < head_dim or local % head_dim:
            raise ConfigError(f"a global block of {out_chans} channels cannot split into heads of {head_dim}")
        self.embed = patch_embed(in_chans, attended, stride)
        self.norm1 = nn.BatchNorm2d(attended)
        self.attention = ReducedAttention(attended, head_dim, reduction)
        self.project = patch_embed(attended, local, 1)
        self.local = MultiHeadConv(local, head_dim)
        self.norm2 = nn.BatchNorm2d(out_chans)
        self.mlp = conv_mlp(out_chans, 2.0, 0.0)
        self.drop = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        x = x + self.drop(self.attention(self.norm1(x)))
        local = self.project(x)
        x = torch.cat([x, local + self.drop(self.local(local))], dim=1)
        return x + self.drop(self.mlp(self.norm2(x)))


class FrameEncoder(nn.Module):
    """Local-global feature-aware transformer: a convolutional stem of four 3x3 convolutions, two of stride 2
    (side / 4), then stages of local blocks closed by a global block (``stage_strides``: which stages halve
    the side), batch norm, and the frame's feature maps (``feature_chans``, s, s): either the last map
    itself, projected pointwise (``pooled=False``: each feature stays at its place on the face), or, as the
    released code does, its global average projected to s² values read as one s x s map (``pooled=True``)."""

    def __init__(
        self,
        *,
        in_chans: int,
        side: int,
        stem: Sequence[int],
        stem_strides: Sequence[int],
        local_widths: Sequence[int],
        global_widths: Sequence[int],
        depths: Sequence[int],
        reductions: Sequence[int],
        head_dim: int,
        mix: float,
        drop_path: float,
        stage_strides: Sequence[int],
        pooled: bool,
        feature_side: int,
        feature_chans: int,
    ) -> None:
        super().__init__()
        chans = (in_chans, stem[0], stem[1], stem[2], stem[2])
        self.stem = nn.Sequential(*[conv_bn(chans[i], chans[i + 1], 3, stride=s) for i, s in enumerate(stem_strides)])
        side = math.ceil(math.ceil(side / 2) / 2)
        # deeper blocks drop more; on the CPU even while a bundle counts parameters on the meta device
        rates = torch.linspace(0, drop_path, sum(depths) + len(depths), device="cpu").tolist()
        blocks: list[nn.Module] = []
        chans = stem[2]
        for stage, depth in enumerate(depths):
            for index in range(depth + 1):
                stride = stage_strides[stage] if index == 0 else 1
                side = math.ceil(side / stride)
                rate = rates[len(blocks)]
                if index < depth:
                    blocks.append(LocalBlock(chans, local_widths[stage], stride, head_dim, rate))
                    chans = local_widths[stage]
                else:
                    reduction = max(1, min(reductions[stage], side))
                    blocks.append(GlobalBlock(chans, global_widths[stage], stride, head_dim, reduction, mix, rate))
                    chans = global_widths[stage]
        self.blocks = nn.Sequential(*blocks)
        self.norm = nn.BatchNorm2d(chans)
        if pooled and feature_chans != 1:
            raise ConfigError("pooled frame features are one s x s map (feature_chans=1)")
        if not pooled and side != feature_side:
            raise ConfigError(f"the encoder's last map is {side}x{side}; set feature_side={side} or pool it")
        self.pooled = pooled
        self.project = nn.Linear(chans, feature_side**2) if pooled else nn.Conv2d(chans, feature_chans, 1)
        self.feature_shape = (feature_chans, feature_side, feature_side)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.blocks(self.stem(images)))
        if self.pooled:
            return self.project(x.mean(dim=(2, 3))).view(-1, *self.feature_shape)
        return self.project(x)


class RankScorer(nn.Module):
    """Scores each frame's feature map by its place in the clip and pools over time: rank feature k is
    Σ_t w_{k,t} ⊛ (F_t − F̄) + b_k, a 3-D convolution whose kernel spans all T frames (3x3 in space), on the
    features less their mean over the clip. Each frame position has weights of its own, so the pooled
    representation depends on the frames' order, as rank pooling does; and, as in rank pooling (whose
    weights sum to zero), what every frame shares (the face itself) cancels and only its change remains.
    The paper is silent on that centring; without it the face's identity swamps a motion of a pixel or
    two in a few dozen training clips (a design fixed on a development database, not a judged one)."""

    def __init__(self, frames: int, feature_chans: int, maps: int) -> None:
        super().__init__()
        self.score = nn.Conv3d(feature_chans, maps, (frames, 3, 3), padding=(0, 1, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        change = features - features.mean(dim=1, keepdim=True)
        return self.score(change.transpose(1, 2)).squeeze(2)  # (B, T, C, s, s) -> (B, maps, s, s)


class TemporalMean(nn.Module):
    """The ablation of the rank scorer: the frame features averaged over time (order ignored), then the same
    3x3 spatial mixing into ``maps`` maps."""

    def __init__(self, feature_chans: int, maps: int) -> None:
        super().__init__()
        self.mix = nn.Conv2d(feature_chans, maps, 3, padding=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mix(features.mean(dim=1))


class DynamicImageDecoder(nn.Module):
    """Encoder-decoder from the dynamic representation (maps, s, s) to the dynamic image (1, S, S): SegNet-
    like stages of two 3x3 convolutions with 2x2 max pooling down and unpooling by the saved indices up,
    then bilinear x2 upsampling stages from s to S. Returns logits (a sigmoid gives the image in [0, 1])."""

    def __init__(self, maps: int, widths: Sequence[int], side_in: int, side_out: int) -> None:
        super().__init__()
        ratio = side_out // side_in
        if side_out % side_in or ratio & (ratio - 1) or side_in % 2 ** len(widths):
            raise ConfigError(
                f"the dynamic-image decoder needs a frame side ({side_out}) a power of two times the feature side "
                f"({side_in}), and the feature side divisible by 2^{len(widths)}"
            )
        chans = [maps, *widths]
        self.down = nn.ModuleList(
            nn.Sequential(conv_bn(chans[i], chans[i + 1], 3), conv_bn(chans[i + 1], chans[i + 1], 3))
            for i in range(len(widths))
        )
        self.up = nn.ModuleList(
            nn.Sequential(conv_bn(chans[i + 1], chans[i + 1], 3), conv_bn(chans[i + 1], max(chans[i], 8), 3))
            for i in reversed(range(len(widths)))
        )
        width = max(maps, 8)
        self.upsample = nn.Sequential(
            *[
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), conv_bn(width, width, 3)
                )
                for _ in range(ratio.bit_length() - 1)
            ]
        )
        self.out = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        indices = []
        for stage in self.down:
            x, where = F.max_pool2d(stage(x), 2, 2, return_indices=True)
            indices.append(where)
        for stage, where in zip(self.up, reversed(indices), strict=True):
            x = stage(F.max_unpool2d(x, where, 2, 2))
        return self.out(self.upsample(x))


def target_dynamic_image(frames: torch.Tensor) -> torch.Tensor:
    """The dynamic image of a batch of clips (B, T, C, S, S), channels averaged, min-max scaled to [0, 1] per
    clip (a still clip: 0.5): (B, 1, S, S). Invariant to one offset and positive scale of all frames."""
    weights = torch.as_tensor(rank_pooling_weights(frames.shape[1]), dtype=frames.dtype, device=frames.device)
    image = torch.einsum("t,bts->bs", weights, frames.mean(dim=2).flatten(2))
    low, high = image.min(dim=1, keepdim=True).values, image.max(dim=1, keepdim=True).values
    span = high - low
    unit = torch.where(span > 1e-6, (image - low) / span.clamp_min(1e-6), torch.full_like(image, 0.5))
    return unit.view(frames.shape[0], 1, *frames.shape[-2:])


class FDP(Classifier):
    """Frames (B, T, C, S, S), or one image (B, C, S, S) as a one-frame clip, to class logits."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_chans: int,
        frames: int,
        side: int,
        encoder: dict,
        maps: int,
        hidden: int,
        dropout: float,
        pooling: str,
        decoder_widths: Sequence[int] | None,
        dynamic_weight: float,
    ) -> None:
        super().__init__()
        if dynamic_weight < 0:
            raise ConfigError(f"dynamic_weight (λ) must be at least 0, got {dynamic_weight}")
        feature_chans, feature_side = encoder["feature_chans"], encoder["feature_side"]
        self.encoder = FrameEncoder(in_chans=in_chans, side=side, **encoder)
        self.pool = RankScorer(frames, feature_chans, maps) if pooling == "rank" else TemporalMean(feature_chans, maps)
        pooled = feature_side // 3
        self.head = nn.Sequential(
            nn.MaxPool2d(3, 3),
            nn.Flatten(),
            nn.Linear(maps * pooled * pooled, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        use_decoder = decoder_widths is not None and dynamic_weight > 0
        self.decoder = DynamicImageDecoder(maps, decoder_widths, feature_side, side) if use_decoder else None
        self.dynamic_weight = dynamic_weight

    def represent(self, frames: torch.Tensor) -> torch.Tensor:
        """The dynamic representation (B, maps, s, s) of a batch of clips."""
        if frames.dim() == 4:
            frames = frames[:, None]
        batch, count = frames.shape[:2]
        features = self.encoder(frames.flatten(0, 1)).view(batch, count, *self.encoder.feature_shape)
        return self.pool(features)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.represent(frames))

    def reconstruct(self, frames: torch.Tensor) -> torch.Tensor:
        """The model's rebuilt dynamic image of each clip, (B, 1, S, S) in [0, 1]."""
        if self.decoder is None:
            raise ConfigError("this FDP variant has no dynamic-image decoder")
        return torch.sigmoid(self.decoder(self.represent(frames)))

    def training_loss(self, inputs, target, criterion, domain=None):
        frames = inputs[0]
        representation = self.represent(frames)
        loss = criterion(self.head(representation), target)
        if self.decoder is None:
            return loss
        rebuilt = torch.sigmoid(self.decoder(representation))
        return loss + self.dynamic_weight * F.mse_loss(rebuilt, target_dynamic_image(frames))


# The laptop-CPU size: the paper's blocks, two stages of one local and one global block, narrow, kept at
# 16x16 so that each frame feature stays at its place on the face.
SMALL = {
    "stem": (8, 8, 16),
    "stem_strides": (2, 2, 1, 1),  # the paper's (2, 1, 1, 2) at a quarter of the cost
    "local_widths": (16, 32),
    "global_widths": (32, 48),
    "depths": (1, 1),
    "reductions": (4, 4),
    "head_dim": 8,
    "mix": 0.75,
    "stage_strides": (1, 1),
    "pooled": False,
    "feature_side": 16,
    "feature_chans": 4,
}
PAPER = {
    "stem": (64, 32, 64),
    "stem_strides": (2, 1, 1, 2),
    "local_widths": (96, 192, 384, 768),
    "global_widths": (128, 256, 512, 1024),
    "depths": (3, 4, 10, 3),
    "reductions": (8, 4, 2, 1),
    "head_dim": 8,
    "mix": 0.75,
    "stage_strides": (1, 2, 2, 2),
    "pooled": True,
    "feature_side": 64,
    "feature_chans": 1,
}
FRAMES = {"frames": (8, 1, 64, 64)}
# Fixed schedules (the test fold chooses nothing). The paper's: Adam 1e-4, weight decay 1e-3, batches of 36,
# 500 steps (about 80 epochs of a CASME II training fold). The small model: Adam 1e-3 with a cosine decay,
# 30 epochs, mirrored clips. Chosen on a development database (the synthetic generator's seed 7, never a
# judged one): random shifts of 5 % took held-out accuracy from 0.92 to 0.58 (the features are kept in
# place, and a shifted face moves them), 20 epochs underfitted the training clips (0.94).
SMALL_TRAINING = {
    "epochs": 30,
    "batch_size": 8,
    "lr": 1e-3,
    "weight_decay": 1e-3,
    "cosine_schedule": True,
    "augment_flip": True,
}
PAPER_TRAINING = {"epochs": 80, "batch_size": 36, "lr": 1e-4, "weight_decay": 1e-3}


def _small(num_classes, in_chans, frames, side, dropout, dynamic_weight, pooling="rank", decoder=True, drop_path=0.0):
    return FDP(
        num_classes=num_classes,
        in_chans=in_chans,
        frames=frames,
        side=side,
        encoder={**SMALL, "drop_path": drop_path},
        maps=8,
        hidden=128,
        dropout=dropout,
        pooling=pooling,
        decoder_widths=(32, 64) if decoder else None,
        dynamic_weight=dynamic_weight if decoder else 0.0,
    )


@register_model("fdp", inputs=FRAMES, training=SMALL_TRAINING)
def fdp(*, num_classes: int, in_chans: int, dropout: float = 0.3, dynamic_weight: float = 100.0) -> FDP:
    """FDP (fine-grained dynamic perception), laptop-CPU size: 8 grey 64x64 frames, rank scorer, decoder."""
    return _small(num_classes, in_chans, 8, 64, dropout, dynamic_weight)


@register_model("fdp_paper", inputs=FRAMES, training=PAPER_TRAINING)
def fdp_paper(
    *, num_classes: int, in_chans: int, dropout: float = 0.0, dynamic_weight: float = 100.0, drop_path: float = 0.1
) -> FDP:
    """FDP at the paper's size (a GPU model): encoder depths 3-4-10-3, 64x64 feature maps, SegNet decoder."""
    return FDP(
        num_classes=num_classes,
        in_chans=in_chans,
        frames=8,
        side=64,
        encoder={**PAPER, "drop_path": drop_path},
        maps=8,
        hidden=256,
        dropout=dropout,
        pooling="rank",
        decoder_widths=(64, 128, 256, 512, 512),
        dynamic_weight=dynamic_weight,
    )


@register_model("fdp_no_decoder", inputs=FRAMES, training=SMALL_TRAINING)
def fdp_no_decoder(*, num_classes: int, in_chans: int, dropout: float = 0.3) -> FDP:
    """FDP ablation: no dynamic-image decoder (λ = 0), the expression loss alone."""
    return _small(num_classes, in_chans, 8, 64, dropout, 0.0, decoder=False)


@register_model("fdp_mean_pool", inputs=FRAMES, training=SMALL_TRAINING)
def fdp_mean_pool(*, num_classes: int, in_chans: int, dropout: float = 0.3, dynamic_weight: float = 100.0) -> FDP:
    """FDP ablation: frame features averaged over time instead of the rank scorer (frame order ignored)."""
    return _small(num_classes, in_chans, 8, 64, dropout, dynamic_weight, pooling="mean")


@register_model("fdp_apex", inputs={"apex": (1, 64, 64)}, training=SMALL_TRAINING)
def fdp_apex(*, num_classes: int, in_chans: int, dropout: float = 0.3) -> FDP:
    """FDP's frame encoder and head on the apex frame alone: the apex-frame baseline of the FDP ablations."""
    return _small(num_classes, in_chans, 1, 64, dropout, 0.0, pooling="mean", decoder=False)
