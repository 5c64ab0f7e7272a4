"""FDP: order matters to the rank scorer and not to its ablation, the decoder's target is the dynamic image
of the input frames, and the paper-sized variant has the blocks the paper describes."""

import numpy as np
import pytest
import torch

from microexp.errors import ConfigError
from microexp.models import create_model
from microexp.models.fdp import GlobalBlock, LocalBlock, target_dynamic_image
from microexp.preprocess.dynamic import dynamic_image, to_unit_range


def _clips(batch=3, frames=8):
    return torch.randn(batch, frames, 1, 64, 64, generator=torch.Generator().manual_seed(0))


def test_reversing_a_clip_changes_the_rank_pooled_representation_but_not_the_averaged_one():
    torch.manual_seed(0)
    clips = _clips()
    for name, order_matters in (("fdp", True), ("fdp_mean_pool", False)):
        model = create_model(name, num_classes=3).eval()
        with torch.no_grad():
            forward, backward = model.represent(clips), model.represent(clips.flip(1))
        assert torch.allclose(forward, backward, atol=1e-5) is not order_matters, name


def test_the_target_is_the_dynamic_image_of_the_raw_frames_whatever_the_standardisation():
    raw = torch.rand(2, 8, 1, 64, 64, generator=torch.Generator().manual_seed(1)) * 255
    expected = np.stack([to_unit_range(dynamic_image(clip[:, 0].numpy().astype(np.float64))) for clip in raw])
    for frames in (raw, (raw - 127.0) / 41.0):
        target = target_dynamic_image(frames)
        assert target.shape == (2, 1, 64, 64)
        np.testing.assert_allclose(target[:, 0].numpy(), expected, atol=1e-4)
    still = torch.ones(1, 8, 1, 64, 64)
    assert torch.equal(target_dynamic_image(still), torch.full((1, 1, 64, 64), 0.5))


def test_the_decoder_rebuilds_an_image_and_its_loss_counts_with_lambda():
    torch.manual_seed(0)
    clips, labels = _clips(), torch.tensor([0, 1, 2])
    model = create_model("fdp", num_classes=3).eval()
    rebuilt = model.reconstruct(clips)
    assert rebuilt.shape == (3, 1, 64, 64) and 0 <= rebuilt.min() and rebuilt.max() <= 1
    criterion = torch.nn.CrossEntropyLoss()
    with torch.no_grad():
        alone = criterion(model(clips), labels)
        total = model.training_loss([clips], labels, criterion)
        mse = torch.nn.functional.mse_loss(rebuilt, target_dynamic_image(clips))
    assert torch.isclose(total, alone + 100 * mse, rtol=1e-4)
    ablation = create_model("fdp_no_decoder", num_classes=3)
    assert ablation.decoder is None
    with pytest.raises(ConfigError, match="no dynamic-image decoder"):
        ablation.reconstruct(clips)
    with pytest.raises(ConfigError, match="at least 0"):
        create_model("fdp", num_classes=3, dynamic_weight=-1.0)


def test_every_stage_ends_with_its_global_block_at_the_papers_depths():
    model = create_model("fdp_paper", num_classes=5)
    blocks = list(model.encoder.blocks)
    kinds = ["G" if isinstance(b, GlobalBlock) else "L" for b in blocks if isinstance(b, GlobalBlock | LocalBlock)]
    assert "".join(kinds) == "LLLG" + "LLLLG" + "L" * 10 + "G" + "LLLG"
    assert model.encoder.feature_shape == (1, 64, 64) and model.head[2].in_features == 8 * 21 * 21  # 3528, as released


def test_the_small_models_frame_features_keep_their_place_on_the_face():
    model = create_model("fdp", num_classes=3).eval()
    with torch.no_grad():
        features = model.encoder(torch.randn(2, 1, 64, 64))
    assert features.shape == (2, 4, 16, 16)


def test_the_apex_baseline_reads_one_image():
    model = create_model("fdp_apex", num_classes=3).eval()
    assert model(torch.randn(2, 1, 64, 64)).shape == (2, 3)
