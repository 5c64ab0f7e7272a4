"""HTNet: the hierarchy's block partition, the published size, the option checks."""

from __future__ import annotations

import pytest
import torch

from microexp.errors import ConfigError
from microexp.models.htnet import BlockTransformer, HTNet, from_blocks, to_blocks


def test_blocks_round_trip_and_hold_the_right_cells():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    blocks = to_blocks(x, 2)
    assert blocks.shape == (8, 3, 4, 4)
    # the second block of the first sample is its top-right quarter
    assert torch.equal(blocks[1], x[0, :, :4, 4:])
    assert torch.equal(blocks[6], x[1, :, 4:, :4])
    assert torch.equal(from_blocks(blocks, 2), x)


def test_attention_stays_inside_a_block():
    torch.manual_seed(0)
    transformer = BlockTransformer(dim=8, tokens=4, depth=2, heads=2, mlp_mult=2, dropout=0.0).eval()
    x = torch.randn(1, 8, 4, 4)
    moved = x.clone()
    moved[0, :, 0, 0] += 3 * torch.randn(8)  # a token of the top-left block (not a constant: layer norm drops that)
    out, out_moved = (from_blocks(transformer(to_blocks(t, 2)), 2) for t in (x, moved))
    changed = (out - out_moved).abs().sum(dim=1)[0] > 1e-6
    assert changed[:2, :2].all(), "the tokens of the moved token's block see it"
    assert not changed[:2, 2:].any() and not changed[2:].any(), "no other block does"


def test_the_released_configuration_has_its_published_size():
    # dim 256, heads 3, depths 2, 2, 10 at 28x28 in 7x7 patches: about 140 M parameters
    model = HTNet(num_classes=3)
    assert sum(p.numel() for p in model.parameters()) == 139_582_982
    assert [t.position.numel() for t in model.transformers] == [1, 1, 1]  # one token per block at 28x28


def test_a_larger_input_attends_among_several_tokens_per_block():
    model = HTNet(num_classes=3, image_size=56, dim=16, heads=2, block_repeats=(1, 1, 1))
    assert [t.position.numel() for t in model.transformers] == [4, 4, 4]
    assert model(torch.randn(2, 3, 56, 56)).shape == (2, 3)


def test_an_input_the_hierarchy_cannot_cut_is_refused():
    with pytest.raises(ConfigError, match=r"gives 2 tokens a side, which 3 hierarchies cannot cut"):
        HTNet(num_classes=3, image_size=14, patch_size=7)
