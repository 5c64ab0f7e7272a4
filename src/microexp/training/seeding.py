"""Seeding: one seed per (run seed, fold) so results do not depend on the order folds run in."""

from __future__ import annotations

import random
import zlib

import numpy as np
import torch


def fold_seed(seed: int, fold_name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(fold_name.encode())) % (2**31 - 1)


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
