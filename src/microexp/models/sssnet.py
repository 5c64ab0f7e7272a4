"""SSSNet: shallow single-stream network (Varanka, Peng and Zhao, "Micro-expression recognition with noisy
labels", Electronic Imaging 2021), the flow CNN the micro-expression benchmark MEB reruns honestly
(Varanka et al., "Data leakage and evaluation issues in micro-expression analysis", 2023: 0.739 UF1 on
the composite).

One stream over the (u, v, strain) flow image: conv 5x5 (32) -> ReLU -> max-pool 3/3 -> batch norm ->
channel dropout; conv 3x3 (64) -> ReLU -> max-pool 2/2 -> batch norm -> channel dropout; FC 256 -> ReLU ->
dropout -> FC classes, dropout 0.5 throughout (MEB's layer sizes).

What differs: MEB feeds 64x64 flows (its first FC reads 9 x 9 x 64); here the composite's 28x28 flows are
read as shipped, so the last maps are 3 x 3 and the first FC reads 3 x 3 x 64. Upsampling the PNG to 64 would
add no information and cost eight times the compute. The default schedule is MEB's (Adam 1e-4, weight decay
1e-3, batch 32, 200 epochs, no schedule); ``sssnet_cpu`` is a shorter one of ours.
"""

from __future__ import annotations

import torch
from torch import nn

from microexp.models.layers import Classifier
from microexp.models.registry import register_model


class SSSNet(Classifier):
    def __init__(
        self,
        num_classes: int = 3,
        in_chans: int = 3,
        input_size: int = 28,
        widths: tuple[int, int, int] = (32, 64, 256),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        first, second, hidden = widths
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, first, kernel_size=5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=3),
            nn.BatchNorm2d(first),
            nn.Dropout2d(dropout),
            nn.Conv2d(first, second, kernel_size=3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.BatchNorm2d(second),
            nn.Dropout2d(dropout),
            nn.Flatten(),
        )
        with torch.no_grad():  # 3 x 3 x 64 at 28x28, 9 x 9 x 64 at MEB's 64x64
            flat = self.features(torch.zeros(1, in_chans, input_size, input_size)).shape[1]
        self.head = nn.Sequential(
            nn.Linear(flat, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# MEB's default training configuration (its core.Config): Adam 1e-4 with weight decay 1e-3, batch 32, 200
# epochs, no learning-rate schedule.
MEB_TRAINING = {"epochs": 200, "batch_size": 32, "lr": 1e-4, "weight_decay": 1e-3, "optimizer": "adam"}


@register_model("sssnet", inputs={"flow": (3, 28, 28)}, training=MEB_TRAINING)
def sssnet(*, num_classes: int, in_chans: int, dropout: float = 0.5) -> SSSNet:
    """SSSNet as MEB reruns it (two conv + two FC layers on the flow), MEB's 200-epoch schedule."""
    return SSSNet(num_classes=num_classes, in_chans=in_chans, dropout=dropout)


@register_model(
    "sssnet_cpu",
    inputs={"flow": (3, 28, 28)},
    # Ours, fixed before it was measured: STSTNet's recipe (cosine decay, mirrored flows) at 40 epochs and a
    # larger step, a fifth of MEB's epochs, so a composite seed takes minutes on 2 cores.
    training={
        "epochs": 40,
        "batch_size": 32,
        "lr": 1e-3,
        "weight_decay": 1e-3,
        "cosine_schedule": True,
        "augment_flip": True,
    },
)
def sssnet_cpu(*, num_classes: int, in_chans: int, dropout: float = 0.5) -> SSSNet:
    """SSSNet, the same network, with a 40-epoch CPU schedule of ours (cosine decay, mirrored flows)."""
    return SSSNet(num_classes=num_classes, in_chans=in_chans, dropout=dropout)
