"""Deep-Emotion: facial expression recognition with an attentional convolutional network (Minaee, Minaei and
Abdolrashidi, Sensors 2021; arXiv 1902.01019).

A spatial transformer (a localisation network regressing a 2x3 affine matrix, then a resampling of the
input with it) lets the network focus on the face regions that matter; a small feature network classifies
the transformed image. Layer sizes follow the reference implementation for 48x48 grey input:

- localisation: conv 7x7 (8) -> max-pool 2 -> ReLU -> conv 5x5 (10) -> max-pool 2 -> ReLU -> FC 32 -> ReLU
  -> FC 6, the last layer initialised to the identity transform (zero weights, bias [1 0 0 0 1 0]);
- features: conv 3x3 (10) -> ReLU -> conv 3x3 (10) -> max-pool 2 -> ReLU -> conv 3x3 (10) -> ReLU ->
  conv 3x3 (10) -> batch norm -> max-pool 2 -> ReLU -> dropout -> FC 50 -> ReLU -> FC classes.

``deep_emotion_paper`` follows the paper instead, where the two differ: the spatial transformer warps the
feature maps, not the image (the first two convolutions and their pooling run first; the localisation
network reads their 10 maps and the grid resamples them), and the localisation convolutions are 3x3
(10 -> 8 -> 10 maps; at 48x48 it reads 22x22 maps and its FC takes 160 values); the rest is the same.

Two deliberate differences from the reference code, in both layouts: its dropout stays on at test time
(``F.dropout`` without the training flag), ours is a module that turns off in eval; and the loss adds the
paper's L2 penalty on the fully-connected weights (weight ``fc_penalty``, our choice of 1e-3). The same
network takes more input channels (apex grey + flow u, v, strain) for the micro-expression variant.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from microexp.errors import ConfigError
from microexp.models.layers import Classifier
from microexp.models.registry import register_model

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


LAYOUTS = ("reference", "paper")


class DeepEmotion(Classifier):
    def __init__(
        self,
        num_classes: int = 7,
        in_chans: int = 1,
        input_size: int = 48,
        dropout: float = 0.5,
        fc_penalty: float = 1e-3,
        layout: str = "reference",
    ) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ConfigError(f"Deep-Emotion layout {layout!r} is unknown; expected one of {LAYOUTS}")
        self.fc_penalty = fc_penalty
        paper = layout == "paper"
        # What runs before the spatial transformer: nothing in the reference code (it warps the image), the
        # first two convolutions and their pooling in the paper (it warps their feature maps).
        self.stem = (
            nn.Sequential(
                nn.Conv2d(in_chans, 10, kernel_size=3),
                nn.ReLU(inplace=True),
                nn.Conv2d(10, 10, kernel_size=3),
                nn.MaxPool2d(2, 2),
                nn.ReLU(inplace=True),
            )
            if paper
            else nn.Identity()
        )
        warped_chans = 10 if paper else in_chans
        loc_kernels = (3, 3) if paper else (7, 5)
        self.localization = nn.Sequential(
            nn.Conv2d(warped_chans, 8, kernel_size=loc_kernels[0]),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 10, kernel_size=loc_kernels[1]),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
        )
        front = (
            []
            if paper
            else [
                nn.Conv2d(in_chans, 10, kernel_size=3),
                nn.ReLU(inplace=True),
                nn.Conv2d(10, 10, kernel_size=3),
                nn.MaxPool2d(2, 2),
                nn.ReLU(inplace=True),
            ]
        )
        self.features = nn.Sequential(
            *front,
            nn.Conv2d(10, 10, kernel_size=3),
            nn.ReLU(inplace=True),
            nn.Conv2d(10, 10, kernel_size=3),
            nn.BatchNorm2d(10),
            nn.MaxPool2d(2, 2),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Flatten(),
        )
        # Flattened sizes depend on the input side (640 and 810 at 48x48 for the reference, 160 and 810 for
        # the paper): measure them once.
        with torch.no_grad():
            warped = self.stem(torch.zeros(1, in_chans, input_size, input_size))
            loc_size, feature_size = self.localization(warped).shape[1], self.features(warped).shape[1]
        self.fc_loc = nn.Sequential(nn.Linear(loc_size, 32), nn.ReLU(inplace=True), nn.Linear(32, 6))
        # Start as the identity transform so early training sees the image unchanged.
        nn.init.zeros_(self.fc_loc[2].weight)
        with torch.no_grad():
            self.fc_loc[2].bias.copy_(torch.tensor(IDENTITY))
        self.fc1 = nn.Linear(feature_size, 50)
        self.fc2 = nn.Linear(50, num_classes)
        # Channels-last weights make the convolutions and pooling about 1.7x faster on CPU.
        self.to(memory_format=torch.channels_last)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """The 2x3 affine matrices (B, 2, 3) the localisation network chooses for the batch ``x`` (the stacked
        input)."""
        return self._theta(self.stem(x))

    def _theta(self, warped: torch.Tensor) -> torch.Tensor:
        return self.fc_loc(self.localization(warped)).view(-1, 2, 3)

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """What the spatial transformer hands on: the input (reference layout) or the first feature maps
        (paper layout), resampled by the grid it chooses."""
        warped = self.stem(x)
        grid = F.affine_grid(self._theta(warped), list(warped.shape), align_corners=False)
        return F.grid_sample(warped, grid, align_corners=False)

    @staticmethod
    def stack(inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The declared inputs (an apex face, a flow of the same side) as the channels of one image."""
        return inputs[0] if len(inputs) == 1 else torch.cat(inputs, dim=1)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(self.features(self.attend(self.stack(inputs))))))

    def training_loss(self, inputs, y: torch.Tensor, criterion: nn.Module, domain=None) -> torch.Tensor:
        penalty = self.fc1.weight.pow(2).sum() + self.fc2.weight.pow(2).sum()
        return criterion(self(*inputs), y) + self.fc_penalty * penalty


# The reference code's schedule (Adam, learning rate 0.005, batch 128, 100 epochs).
REFERENCE_TRAINING = {"epochs": 100, "batch_size": 128, "lr": 0.005, "optimizer": "adam"}


@register_model("deep_emotion", inputs={"apex": (1, 48, 48)}, training=REFERENCE_TRAINING)
def deep_emotion(
    *, num_classes: int, in_chans: int, input_size: int = 48, dropout: float = 0.5, fc_penalty: float = 1e-3
) -> DeepEmotion:
    """Deep-Emotion (Minaee et al. 2021), reference-code layout: the spatial transformer warps the 48x48 grey face."""
    return DeepEmotion(num_classes, in_chans, input_size, dropout, fc_penalty)


@register_model(
    "deep_emotion_apexflow",
    inputs={"apex": (1, 48, 48), "flow": (3, 48, 48)},
    training=REFERENCE_TRAINING,
)
def deep_emotion_apexflow(
    *, num_classes: int, in_chans: int, input_size: int = 48, dropout: float = 0.5, fc_penalty: float = 1e-3
) -> DeepEmotion:
    """Deep-Emotion, reference-code layout, on the grey apex face stacked with the onset-apex flow (u, v, strain)."""
    return DeepEmotion(num_classes, in_chans, input_size, dropout, fc_penalty)


@register_model("deep_emotion_paper", inputs={"apex": (1, 48, 48)}, training=REFERENCE_TRAINING)
def deep_emotion_paper(
    *, num_classes: int, in_chans: int, input_size: int = 48, dropout: float = 0.5, fc_penalty: float = 1e-3
) -> DeepEmotion:
    """Deep-Emotion, paper layout: the spatial transformer (3x3 localisation kernels) warps the feature maps."""
    return DeepEmotion(num_classes, in_chans, input_size, dropout, fc_penalty, layout="paper")
