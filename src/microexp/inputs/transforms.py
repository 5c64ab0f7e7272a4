"""Augmentations keyed by input kind, applied to a batch of raw (0-255) inputs, one draw per sample shared
by all of that sample's inputs and frames: a mirrored clip is mirrored in every input.

Mirroring a flow field negates its horizontal component u; for u scaled to 0-255 (min-max per clip, or a
fixed scale symmetric about zero) that is ``255 - u``. Frame sequences are mirrored frame by frame and
shifted by the same amount on every frame.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def mirror(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Left-right mirror of a batch of one input of ``kind`` (see :data:`microexp.inputs.spec.KINDS`)."""
    if kind == "vector":
        return x
    mirrored = x.flip(-1)
    if kind == "flow":
        mirrored[:, 0] = 255.0 - mirrored[:, 0]
    return mirrored


def mirror_where(inputs: dict[str, torch.Tensor], kinds: dict[str, str], flip: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each input mirrored for the samples where ``flip`` (B,) is true."""
    out = {}
    for name, x in inputs.items():
        out[name] = torch.where(flip.view(-1, *[1] * (x.dim() - 1)), mirror(x, kinds[name]), x)
    return out


def draw_affine(batch: int, *, shift: float, degrees: float, generator: torch.Generator) -> torch.Tensor:
    """(B, 2, 3) affine matrices: a move by up to ``shift`` of the side and a turn by up to ``degrees``."""
    angle = (torch.rand(batch, generator=generator) * 2 - 1) * np.deg2rad(degrees)
    offset = (torch.rand(batch, 2, generator=generator) * 2 - 1) * 2 * shift  # grid coordinates span 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1)


def apply_affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """The batch (B, C, H, W) or (B, T, C, H, W) warped by ``theta``, every frame alike; pixels from outside
    repeat the border."""
    if x.dim() == 2:
        return x
    flat = x.reshape(x.shape[0], -1, *x.shape[-2:])
    grid = nn.functional.affine_grid(theta.to(x), list(flat.shape), align_corners=False)
    return nn.functional.grid_sample(flat, grid, padding_mode="border", align_corners=False).reshape(x.shape)


def random_affine(x: torch.Tensor, *, shift: float, degrees: float, generator: torch.Generator) -> torch.Tensor:
    """Each image of the batch (B, C, H, W) moved and turned by its own draw."""
    return apply_affine(x, draw_affine(len(x), shift=shift, degrees=degrees, generator=generator))
