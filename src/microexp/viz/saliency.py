"""Gradient saliency (Simonyan et al. 2014), the map Deep-Emotion draws: how strongly each input pixel
moves the score of a class. Works for any torch model; the maximum over channels of |d score / d x|."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def gradient_saliency(model: nn.Module, x: torch.Tensor, target_class: int) -> np.ndarray:
    """Saliency of one standardised input ``x`` (C, H, W) for ``target_class``: array (H, W) in [0, 1]."""
    model.eval()
    inputs = x.detach().clone().unsqueeze(0).requires_grad_(True)
    logits = model(inputs)
    model.zero_grad(set_to_none=True)
    logits[0, target_class].backward()
    saliency = inputs.grad[0].abs().amax(dim=0)
    saliency = saliency / saliency.max().clamp_min(1e-12)
    return saliency.detach().cpu().numpy()
