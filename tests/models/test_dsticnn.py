"""DSTICNN: the two streams meet in shape after conv1, and the exchange is what lets one stream see the other."""

import pytest
import torch

from microexp.errors import ConfigError
from microexp.models import create_model, get_model_info


def _clip(name: str, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(*spec.batch_shape(2), generator=generator) for spec in get_model_info(name).inputs.values()]


@pytest.mark.parametrize("name", ["dsticnn", "dsticnn_paper"])
def test_streams_have_one_shape_after_conv1(name):
    model = create_model(name, num_classes=3)
    frames32, frames64 = _clip(name, 0)
    conv1_short = model.short.stages[0][0](frames32.transpose(1, 2))
    conv1_long = model.long.stages[0][0](frames64.transpose(1, 2))
    side = get_model_info(name).inputs["frames32"].shape[-1]
    width = model.short.stages[0][0][0].out_channels
    assert conv1_short.shape == conv1_long.shape == (2, width, 16, side // 2, side // 2)


@pytest.mark.parametrize(("name", "mixes"), [("dsticnn", True), ("dsticnn_no_interaction", False)])
def test_the_short_stream_sees_the_long_input_only_through_the_exchange(name, mixes):
    torch.manual_seed(0)
    model = create_model(name, num_classes=3).eval()  # batch norm on running statistics: samples stay apart
    frames32, frames64 = _clip(name, 0)
    _, other64 = _clip(name, 1)
    with torch.no_grad():
        short, long = model.streams(frames32, frames64)
        short_other, long_other = model.streams(frames32, other64)
    assert not torch.allclose(long, long_other)
    assert torch.allclose(short, short_other) is not mixes


def test_a_still_offset_of_the_frames_changes_nothing():
    # the streams read each clip less its mean frame: only what changes over time is seen
    torch.manual_seed(0)
    model = create_model("dsticnn", num_classes=3).eval()
    frames32, frames64 = _clip("dsticnn", 0)
    face = torch.randn(2, 1, 1, 56, 56) * 50
    with torch.no_grad():
        assert torch.allclose(model(frames32, frames64), model(frames32 + face, frames64 + face), atol=1e-4)
        assert not torch.allclose(model(frames32, frames64), model(frames32, frames64.flip(1)), atol=1e-4)


def test_inputs_of_different_sides_are_refused():
    model = create_model("dsticnn", num_classes=3)
    with pytest.raises(ConfigError, match="differ in shape after stage 1.*same side in both inputs"):
        model(torch.randn(2, 32, 1, 56, 56), torch.randn(2, 64, 1, 64, 64))


def test_odd_input_channels_are_refused():
    with pytest.raises(ConfigError, match="in_chans .* is even; got 3"):
        create_model("dsticnn", num_classes=3, in_chans=3)
