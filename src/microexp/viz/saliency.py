"""Gradient saliency (Simonyan et al. 2014), the map Deep-Emotion draws: how strongly each input pixel
moves the score of a class. Works for any torch model; the maximum over channels of |d score / d x|."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


def gradient_saliency(
    model: nn.Module, inputs: Sequence[torch.Tensor], target_class: int, position: int = 0
) -> np.ndarray:
    """Saliency for ``target_class`` of one sample's standardised inputs (each with a batch axis of 1, in
    the model's order) with respect to input ``position`` (C, H, W): array (H, W) in [0, 1]."""
    model.eval()
    leaves = [x.detach().clone().requires_grad_(i == position) for i, x in enumerate(inputs)]
    logits = model(*leaves)
    model.zero_grad(set_to_none=True)
    logits[0, target_class].backward()
    saliency = leaves[position].grad[0].abs().amax(dim=0)
    saliency = saliency / saliency.max().clamp_min(1e-12)
    return saliency.detach().cpu().numpy()
