"""STSTNet: shallow triple-stream three-dimensional CNN (Liong et al., FG 2019).

Three parallel 3x3 convolutions (3, 5 and 8 filters) over the (u, v, strain) flow image, each with
ReLU, batch norm and 3x3/3 max pooling; the streams are concatenated, average-pooled and classified
by one linear layer. Layer sizes follow the authors' released model for 28x28 input.
"""

from __future__ import annotations

import torch
from torch import nn

from microexp.models.layers import Classifier
from microexp.models.registry import register_model


class STSTNet(Classifier):
    def __init__(self, num_classes: int = 3, in_chans: int = 3, input_size: int = 28, dropout: float = 0.5) -> None:
        super().__init__()
        # The three streams (3, 5 and 8 filters) differ only in width and every layer after the convolution
        # works channel by channel, so they are computed as one 16-filter convolution whose output channels
        # 0-2, 3-7 and 8-15 are the streams: the same function with the same initial weight
        # distribution (drawn in another order, so a seed gives other weights), in a third of the calls.
        width = 3 + 5 + 8
        self.streams = nn.Sequential(
            nn.Conv2d(in_chans, width, kernel_size=3, padding=2),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(width),
            nn.MaxPool2d(kernel_size=3, stride=3, padding=1),
            nn.Dropout(dropout),
        )
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)
        pooled = ((input_size + 2 + 2) // 3) // 2  # conv pads by 2 each side, then /3 and /2
        self.head = nn.Linear(width * pooled * pooled, num_classes)
        # Channels-last weights make convolution, pooling and batch norm about 1.5x faster on CPU here.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.streams(x)
        return self.head(torch.flatten(self.pool(features), 1))


@register_model(
    "ststnet",
    inputs={"flow": (3, 28, 28)},
    # 60 epochs with cosine decay and mirrored flows: the 200-epoch schedule cost about 100 s per fold on
    # 2 cores. Fixed in advance, never per fold; docs/RESULTS.md has what it scores (3 seeds).
    training={
        "epochs": 60,
        "batch_size": 64,
        "lr": 2e-3,
        "weight_decay": 1e-4,
        "cosine_schedule": True,
        "augment_flip": True,
    },
)
def ststnet(*, num_classes: int, in_chans: int, dropout: float = 0.5) -> STSTNet:
    """STSTNet (Liong et al. 2019): three shallow conv streams over u, v and optical strain."""
    return STSTNet(num_classes=num_classes, in_chans=in_chans, dropout=dropout)
