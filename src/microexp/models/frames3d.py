"""A small 3-D CNN over a clip's aligned frames: the reference model for frame inputs.

Not a published method: the smallest model that reads what the frame builders make, (T, C, S, S) aligned
faces from onset to offset, so frame-sequence studies (CK+ sequences, long micro-expression clips) run
end to end and a published frame model (FDP, the dual-stream network) has a floor to clear. Three blocks
of 3x3x3 convolution, batch norm, ReLU and pooling (space halved in each block, time from the second),
global average pooling, dropout, a linear layer. Sizes chosen to train a fold of CK+ in seconds on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from microexp.models.layers import Classifier
from microexp.models.registry import register_model

FRAMES_TRAINING = {"epochs": 30, "batch_size": 8, "lr": 1e-3, "cosine_schedule": True, "augment_flip": True}


def _block(in_chans: int, out_chans: int, pool: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(in_chans, out_chans, 3, padding=1, bias=False),
        nn.BatchNorm3d(out_chans),
        nn.ReLU(inplace=True),
        nn.MaxPool3d(pool),
    )


class Frames3D(Classifier):
    def __init__(self, num_classes: int, in_chans: int = 1, width: int = 8, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(in_chans, width, (1, 2, 2)),
            _block(width, 2 * width, (2, 2, 2)),
            _block(2 * width, 4 * width, (2, 2, 2)),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * width, num_classes))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # (B, T, C, S, S) as the builders make it -> (B, C, T, S, S) as Conv3d reads it
        x = self.features(frames.transpose(1, 2))
        return self.head(x.mean(dim=(2, 3, 4)))


@register_model("frames3d", inputs={"frames": (8, 1, 64, 64)}, training=FRAMES_TRAINING)
def frames3d(*, num_classes: int, in_chans: int, width: int = 8, dropout: float = 0.3) -> Frames3D:
    """Reference frames model: a small 3-D CNN over 8 aligned 64x64 grey frames, onset to offset."""
    return Frames3D(num_classes, in_chans, width, dropout)
