"""DSTICNN, the dual-stream temporal-domain information-interaction network (Zhu & Chen, Journal of Frontiers
of Computer Science and Technology 16(4):950-958, 2022): two 3-D CNN streams over one clip, temporally
interpolated to 32 and to 64 frames, that exchange what they found after every pooling stage.

Taken from the paper (its Table 1, the only part that could be read): 112x112 frames; per stream four
convolutions (16, 32, 64, 128 channels) each followed by max pooling, with these kernels (T x H x W) and
strides (space, time):

    conv1   32 frames: 4x3x3; 2, 2      64 frames: 8x3x3; 2, 4
    pool1   1x2x2; 2, 1                 conv2, conv3   3x3x3; 1, 1
    pool2, pool3   2x2x2; 2, 2          conv4   4x3x3; 1, 1        pool4   1x2x2; 1, 2

conv1's temporal strides (2 and 4) give both streams the same shape after it, which is what lets them
exchange information at every stage.

Where the paper (as far as it could be read) is silent, chosen here before any run on real data:
- the exchange: lateral connections both ways after pool1, pool2 and pool3, each stream adding a 1x1x1
  convolution of the other's map (same shape) to its own, both computed from the maps before either is
  changed, so the exchange is symmetric; none after pool4, where the head joins the streams anyway;
- padding: conv1 pads time by 1 (32 frames) and 2 (64 frames), so each stream has T/2 and T/4 = 16 steps;
  every 3x3 in space and 3 in time is padded by 1; conv4's 4 in time is padded by 1 on each side (one step
  fewer: 4 -> 3), pool4 (stride 1 in space, 2 in time) then leaves 2 steps;
- batch norm and ReLU after every convolution; one grey channel per stream (the aligned face);
- the input of each stream is the clip less its mean frame (``centre=True``): what every frame shares, the
  face itself, cancels and only its change is left, as for FDP's rank scorer, where a face's identity
  otherwise swamped a motion of a pixel or two in a few dozen training clips;
- the head: each stream's last map flattened (where on the face and when a motion happened is kept), the
  two concatenated, dropout, one linear layer; the same head with and without the exchange, so the
  ablation changes nothing else (on the development database, averaging the maps over time and space
  instead gave UF1 0.62 against 0.70);
- the training: Adam, cosine decay, no mirrored clips (the schedules below).

Variants: ``dsticnn`` is the CPU size (56x56 frames and the paper's channels halved, 8-16-32-64), fixed on
the synthetic development database (seed 7, never a judged one; docs/results/dsticnn.md lists what each
draft gave); ``dsticnn_paper`` is the paper's size (112x112, 16-32-64-128), for GPU users;
``dsticnn_no_interaction`` is the CPU size with the exchange switched off: two independent streams joined
only by the head (late fusion). The inputs are two ``frames`` inputs of one clip, ``frames32`` and
``frames64``; the paper interpolates the clip to each length, which is ``--set inputs.frame_sampling=tim``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from microexp.errors import ConfigError
from microexp.models.layers import Classifier
from microexp.models.registry import register_model

# (kernel, stride, padding) of conv1 per stream length, as (time, height, width)
CONV1 = {32: ((4, 3, 3), (2, 2, 2), (1, 1, 1)), 64: ((8, 3, 3), (4, 2, 2), (2, 1, 1))}


def _conv(in_chans: int, out_chans: int, kernel, stride, padding) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(in_chans, out_chans, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm3d(out_chans),
        nn.ReLU(inplace=True),
    )


class Stream(nn.Module):
    """One stream of Table 1 as four stages (convolution then pooling), run a stage at a time so the two
    streams can exchange maps between stages."""

    def __init__(self, frames: int, in_chans: int, widths: Sequence[int]) -> None:
        super().__init__()
        if frames not in CONV1:
            raise ConfigError(f"a DSTICNN stream reads 32 or 64 frames, got {frames}")
        kernel, stride, padding = CONV1[frames]
        self.stages = nn.ModuleList(
            [
                nn.Sequential(_conv(in_chans, widths[0], kernel, stride, padding), nn.MaxPool3d((1, 2, 2), (1, 2, 2))),
                nn.Sequential(_conv(widths[0], widths[1], 3, 1, 1), nn.MaxPool3d(2, 2)),
                nn.Sequential(_conv(widths[1], widths[2], 3, 1, 1), nn.MaxPool3d(2, 2)),
                nn.Sequential(_conv(widths[2], widths[3], (4, 3, 3), 1, (1, 1, 1)), nn.MaxPool3d((1, 2, 2), (2, 1, 1))),
            ]
        )


class DSTICNN(Classifier):
    """Two frame inputs of one clip, (B, 32, C, S, S) and (B, 64, C, S, S), to class logits. ``in_chans``
    counts both inputs' channels together (the registry's default); each stream reads half."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_chans: int,
        side: int,
        widths: Sequence[int],
        interaction: bool,
        centre: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        if in_chans % 2:
            raise ConfigError(
                f"DSTICNN's two inputs have the same channels, so in_chans (both together) is even; got {in_chans}"
            )
        if len(widths) != 4:
            raise ConfigError(f"DSTICNN has four stages; widths must be four channel counts, got {tuple(widths)}")
        self.short = Stream(32, in_chans // 2, widths)
        self.long = Stream(64, in_chans // 2, widths)
        # one lateral pair after each of the first three stages; the head joins the streams after the fourth
        self.to_short = nn.ModuleList(nn.Conv3d(w, w, 1) for w in widths[:3]) if interaction else None
        self.to_long = nn.ModuleList(nn.Conv3d(w, w, 1) for w in widths[:3]) if interaction else None
        self.centre = centre
        last_side = (
            -(-side // 2) // 2 // 2 // 2 - 1
        )  # conv1 halves the side (rounding up), pool1-3 halve it, pool4 takes one
        if last_side < 1:
            raise ConfigError(f"DSTICNN's frames must be at least 32x32 to survive its four stages, got {side}x{side}")
        # time: 16 steps after conv1, 8 after pool2, 4 after pool3, 3 after conv4, 2 after pool4
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * widths[3] * 2 * last_side**2, num_classes))

    def _prepare(self, frames: torch.Tensor) -> torch.Tensor:
        if self.centre:
            frames = frames - frames.mean(dim=1, keepdim=True)
        return frames.transpose(1, 2)  # (B, T, C, S, S) as the builders make it -> (B, C, T, S, S)

    def streams(self, frames32: torch.Tensor, frames64: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each stream's last map, (B, widths[3], T', S', S'), after every exchange."""
        short, long = self._prepare(frames32), self._prepare(frames64)
        for index, (short_stage, long_stage) in enumerate(zip(self.short.stages, self.long.stages, strict=True)):
            short, long = short_stage(short), long_stage(long)
            if short.shape != long.shape:
                raise ConfigError(
                    f"DSTICNN's streams differ in shape after stage {index + 1}: {tuple(short.shape)} (32 frames) "
                    f"and {tuple(long.shape)} (64 frames); the frames must be the same side in both inputs"
                )
            if self.to_short is not None and index < len(self.to_short):
                short, long = short + self.to_short[index](long), long + self.to_long[index](short)
        return short, long

    def forward(self, frames32: torch.Tensor, frames64: torch.Tensor) -> torch.Tensor:
        short, long = self.streams(frames32, frames64)
        return self.head(torch.cat([short.flatten(1), long.flatten(1)], dim=1))


def _inputs(side: int) -> dict:
    return {"frames32": ("frames", (32, 1, side, side)), "frames64": ("frames", (64, 1, side, side))}


SMALL_WIDTHS = (8, 16, 32, 64)
PAPER_WIDTHS = (16, 32, 64, 128)
# Fixed schedules (the test fold chooses nothing), chosen on the development database (synthetic seed 7, four
# folds of two subjects): 60 epochs gave nothing over 30 (UF1 0.69 and 0.70); mirrored clips 0.70 against
# 0.72 without, and a mirrored clip moves every motion to the other side of the flattened maps the head
# reads, so the clips are not mirrored.
SMALL_TRAINING = {"epochs": 30, "batch_size": 8, "lr": 1e-3, "weight_decay": 1e-4, "cosine_schedule": True}
PAPER_TRAINING = {"epochs": 60, "batch_size": 16, "lr": 1e-3, "weight_decay": 1e-4, "cosine_schedule": True}


@register_model("dsticnn", inputs=_inputs(56), training=SMALL_TRAINING)
def dsticnn(*, num_classes: int, in_chans: int, dropout: float = 0.3, centre: bool = True) -> DSTICNN:
    """DSTICNN, CPU size: 32 and 64 grey 56x56 frames, channels 8-16-32-64, streams exchanging maps."""
    return DSTICNN(
        num_classes=num_classes,
        in_chans=in_chans,
        side=56,
        widths=SMALL_WIDTHS,
        interaction=True,
        centre=centre,
        dropout=dropout,
    )


@register_model("dsticnn_paper", inputs=_inputs(112), training=PAPER_TRAINING)
def dsticnn_paper(*, num_classes: int, in_chans: int, dropout: float = 0.3, centre: bool = True) -> DSTICNN:
    """DSTICNN at the paper's size (a GPU model): 32 and 64 grey 112x112 frames, channels 16-32-64-128."""
    return DSTICNN(
        num_classes=num_classes,
        in_chans=in_chans,
        side=112,
        widths=PAPER_WIDTHS,
        interaction=True,
        centre=centre,
        dropout=dropout,
    )


@register_model("dsticnn_no_interaction", inputs=_inputs(56), training=SMALL_TRAINING)
def dsticnn_no_interaction(*, num_classes: int, in_chans: int, dropout: float = 0.3, centre: bool = True) -> DSTICNN:
    """DSTICNN ablation: the CPU size with no exchange, two independent streams joined by the head."""
    return DSTICNN(
        num_classes=num_classes,
        in_chans=in_chans,
        side=56,
        widths=SMALL_WIDTHS,
        interaction=False,
        centre=centre,
        dropout=dropout,
    )
