"""Macro-to-micro transfer: gradient reversal, the relation and contrastive parts, and that no test subject
and no micro clip reaches MaNet or the discriminator's macro side."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flow_tables import make_flow_table
from microexp.data.schema import SampleTable, concat_tables
from microexp.data.splitters import LeaveOneSubjectOut
from microexp.errors import ConfigError, UnreadableFileError
from microexp.evaluation import runner
from microexp.evaluation.runner import Task, train_task
from microexp.files import file_record
from microexp.inputs.build import build_inputs
from microexp.models import create_model, get_model_info
from microexp.models.micro_macro import (
    FRACTIONS,
    MicroMacroTransfer,
    _frozen_copy,
    motion_at_fraction,
    reverse_gradient,
)
from microexp.training.config import TrainConfig
from microexp.training.engine import domain_codes


def test_gradient_reversal_is_identity_forward_and_negated_scaled_backward():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def _batch(micro: int = 6, macro: int = 6, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    count = micro + macro
    apex = torch.randn(count, 1, 48, 48, generator=generator)
    flow = torch.randn(count, 3, 28, 28, generator=generator)
    y = torch.arange(count) % 3
    domain = torch.tensor([0] * micro + [1] * macro)
    return [apex, flow], y, domain


def test_the_discriminator_learns_while_minet_learns_to_fool_it():
    torch.manual_seed(0)
    model = MicroMacroTransfer(3, adversarial=True, dropout=0.0)
    model.train()
    (apex, flow), _, domain = _batch()
    micro, macro = domain == 0, domain > 0

    def domain_loss() -> torch.Tensor:
        return model._domain_loss(model.minet.spatial(apex[micro]), model.manet.spatial(apex[macro]).detach())

    before = domain_loss()
    before.backward()
    with torch.no_grad():  # one plain gradient step on the discriminator only
        for p in model.discriminator.parameters():
            p -= 0.05 * p.grad
    model.zero_grad()
    after_discriminator = domain_loss()
    assert after_discriminator < before.detach()  # it got better at telling the domains apart
    after_discriminator.backward()
    with torch.no_grad():  # the same step on MiNet's spatial stream follows the reversed gradient
        for p in model.minet.spatial.parameters():
            if p.grad is not None:
                p -= 0.05 * p.grad
    with torch.no_grad():  # batch norm normalises by the batch in training mode: the same batch, comparable
        assert domain_loss() > after_discriminator.detach()  # MiNet moved its features to fool it


def test_motion_at_a_fraction_scales_the_flow_about_its_median():
    flow = torch.randn(2, 3, 28, 28)
    zero = flow.flatten(2).median(dim=2).values[..., None, None]
    whole = motion_at_fraction(flow, torch.tensor([1.0, 1.0]))
    assert torch.allclose(whole, flow)
    none = motion_at_fraction(flow, torch.tensor([0.0, 0.0]))
    assert torch.allclose(none, zero.expand_as(flow))
    half = motion_at_fraction(flow, torch.tensor([0.5, 0.25]))
    assert torch.allclose(half[0] - zero[0], 0.5 * (flow[0] - zero[0]), atol=1e-6)
    assert torch.allclose(half[1] - zero[1], 0.25 * (flow[1] - zero[1]), atol=1e-6)


def test_the_relation_classifier_learns_from_manet_only_and_teaches_minet():
    torch.manual_seed(0)
    model = MicroMacroTransfer(3, relation=True)
    model.train()
    (apex, flow), y, domain = _batch()
    micro = domain == 0
    # MaNet's term trains the relation classifier
    ma_temporal = model.manet.temporal(flow[~micro])
    model._relation_loss(model.manet, flow[~micro], ma_temporal, model.relation).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.relation.parameters())
    model.zero_grad(set_to_none=True)
    # MiNet's term moves MiNet only: the classifier is read frozen
    mi_temporal = model.minet.temporal(flow[micro])
    model._relation_loss(model.minet, flow[micro], mi_temporal, _frozen_copy(model.relation)).backward()
    assert all(p.grad is None for p in model.relation.parameters())
    assert all(p.grad is None for p in model.manet.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.minet.temporal.parameters())


def test_a_relation_classifier_can_be_taught_the_fractions():
    """The stand-in task is learnable: a relation model trained on flows alone predicts the fraction far
    above chance (1 in 4: an untaught classifier) on flows it has not seen."""
    torch.manual_seed(0)
    model = MicroMacroTransfer(3, relation=True, dropout=0.0)
    optimiser = torch.optim.Adam([*model.manet.temporal.parameters(), *model.relation.parameters()], lr=3e-3)
    flows = torch.randn(64, 3, 28, 28)
    model.train()
    for _ in range(60):
        optimiser.zero_grad()
        whole = model.manet.temporal(flows)
        model._relation_loss(model.manet, flows, whole, model.relation).backward()
        optimiser.step()
    model.eval()
    test = torch.randn(32, 3, 28, 28)
    with torch.no_grad():
        whole = model.manet.temporal(test).repeat(len(FRACTIONS), 1)
        target = torch.arange(len(FRACTIONS)).repeat_interleave(32)
        fractions = torch.as_tensor(FRACTIONS)[target]
        scaled = model.manet.temporal(motion_at_fraction(test.repeat(len(FRACTIONS), 1, 1, 1), fractions))
        accuracy = (model.relation(torch.cat([whole, scaled], 1)).argmax(1) == target).float().mean()
    assert accuracy > 0.45  # chance is 0.25


def test_the_contrastive_loss_pulls_towards_the_own_class_centroid_of_macro_features():
    model = MicroMacroTransfer(3, contrastive=True, temperature=0.1)
    macro = torch.eye(3, 128) * 5  # one direction per class
    model._update_centroids(macro, torch.tensor([0, 1, 2]))
    assert model.centroid_seen.all() and torch.allclose(model.centroids, torch.eye(3, 128))
    y = torch.tensor([0, 1])
    aligned = model.contrastive_loss(torch.eye(3, 128)[:2], y)
    swapped = model.contrastive_loss(torch.eye(3, 128)[[1, 0]], y)
    assert aligned < 0.01 < swapped
    # a class MaNet has not shown yet is neither a target nor a competitor
    fresh = MicroMacroTransfer(3, contrastive=True)
    fresh._update_centroids(macro[:1], torch.tensor([0]))
    assert fresh.contrastive_loss(torch.randn(2, 128), torch.tensor([1, 2])) == 0


def test_manet_reads_only_macro_rows_and_the_discriminator_one_side_of_each():
    torch.manual_seed(0)
    model = create_model("minet_transfer", num_classes=3)
    model.train()
    (apex, flow), y, domain = _batch(micro=7, macro=5)
    apex[domain == 0], flow[domain == 0] = 5.0, 5.0  # micro rows are marked by their value
    apex[domain > 0], flow[domain > 0] = -5.0, -5.0
    seen = []
    for stream in (model.manet.spatial, model.manet.temporal):
        stream.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    sizes = []
    model.discriminator.register_forward_pre_hook(lambda module, args: sizes.append(len(args[0])))
    model.training_loss([apex, flow], y, torch.nn.CrossEntropyLoss(), domain=domain).backward()
    assert seen and all(torch.all(x == -5.0) for x in seen)
    assert sizes == [7, 5]  # MiNet's features of the micro rows, MaNet's of the macro rows


def test_a_transfer_model_without_macro_rows_says_what_to_give():
    model = create_model("minet_relation", num_classes=3)
    model.train()
    (apex, flow), y, _ = _batch(micro=6, macro=0)
    with pytest.raises(ConfigError, match="needs a training-only macro table, e.g. --train-table ckplus"):
        for _ in range(25):
            model.training_loss([apex, flow], y, torch.nn.CrossEntropyLoss(), domain=torch.zeros(6, dtype=torch.long))
    with pytest.raises(ConfigError, match="domain"):
        model.training_loss([apex, flow], y, torch.nn.CrossEntropyLoss())


def _macro_table(root, subjects: list[str]) -> SampleTable:
    toy = make_flow_table(root, subjects=len(subjects), seed=1)
    rename = {f"s{i:02d}": subject for i, subject in enumerate(subjects)}
    samples = toy.samples.assign(
        dataset="macro",
        subject=toy.samples["subject"].map(rename),
        clip_id="macro/" + toy.samples["clip"],
    )
    return SampleTable("macro", toy.classes, samples)


def test_the_test_subject_never_reaches_manet_or_the_discriminator_through_any_table(tmp_path, monkeypatch):
    micro = make_flow_table(tmp_path / "micro", subjects=3)
    # the macro table holds a subject named like the micro test subject (CK+ and CK+48 share people)
    macro = _macro_table(tmp_path / "macro", ["s00", "m01"])
    table = concat_tables([micro, macro], ["evaluate", "train"], "toy+macro")
    built = build_inputs(table, get_model_info("minet_transfer").inputs, cache_dir=tmp_path / "cache")
    fold = next(f for f in LeaveOneSubjectOut().split(built) if set(built.samples.iloc[f.test]["subject"]) == {"s00"})
    trained_on = []
    real = runner.train_model

    def spy(name, train, **options):
        trained_on.append(train)
        return real(name, train, **options)

    monkeypatch.setattr(runner, "train_model", spy)
    config = TrainConfig.from_dict({**get_model_info("minet_transfer").training, "epochs": 1, "batch_size": 8})
    train_task(Task("minet_transfer", 0, fold, config), built)
    (train,) = trained_on
    assert "s00" not in set(train.subjects)  # neither the micro clips nor the macro ones of that subject
    codes = domain_codes(train)
    macro_rows = [clip for clip, code in zip(train.clip_ids, codes, strict=True) if code > 0]
    micro_rows = [clip for clip, code in zip(train.clip_ids, codes, strict=True) if code == 0]
    expected_macro = macro.samples.loc[macro.samples["subject"] == "m01", "clip_id"]
    assert sorted(macro_rows) == sorted(expected_macro)  # only these reach MaNet and its discriminator side
    assert all(clip.startswith("toy/") for clip in micro_rows)
    assert not set(micro_rows) & set(built.samples.iloc[fold.test]["clip_id"])


def test_domain_codes_put_the_evaluated_table_first_whatever_the_names():
    from microexp.inputs.dataset import ArrayDataset

    data = ArrayDataset(
        {"x": np.zeros((4, 2))}, [0, 1, 0, 1], domains=["zz", "aa", "zz", "bb"], roles=["evaluate", "train"] * 2
    )
    assert domain_codes(data).tolist() == [0, 1, 0, 2]


# --- MaNet trained once, as a teacher bundle ---


def _teacher_bundle(folder, model: str = "manet", dataset: str = "macro:megc3", seed: int = 0):
    """A MaNet bundle as `microexp train` writes it: trained one step on random macro rows, then finished."""
    from microexp.models.micro_macro import INPUTS
    from microexp.training.bundle import save_bundle
    from microexp.training.trained import TrainedModel

    torch.manual_seed(seed)
    info = get_model_info(model)
    net = create_model(model, num_classes=3)
    (apex, flow), y, _ = _batch(micro=0, macro=12, seed=seed)
    inputs = [apex, flow][: len(info.inputs)]
    net.train()
    net.training_loss(inputs, y, torch.nn.CrossEntropyLoss()).backward()
    net.eval()
    net.finish_training(inputs, y)
    mean = {name: np.zeros(shape[0]) for name, shape in INPUTS.items() if name in info.inputs}
    std = {name: np.ones(shape[0]) for name, shape in INPUTS.items() if name in info.inputs}
    trained = TrainedModel(model, 3, info.inputs, net, mean, std, {})
    preprocessing = {"inputs_by_dataset": {dataset.split(":")[0]: {}}}
    return save_bundle(
        folder, trained, classes=CLASS_NAMES, dataset=dataset, preprocessing=preprocessing, train_config={}
    )


CLASS_NAMES = ("negative", "positive", "surprise")


def test_manet_keeps_its_class_centroids_and_a_bank_of_its_spatial_features():
    from microexp.models.micro_macro import BANK_SIZE

    for name, width in (("manet", 128), ("manet_faces", 64)):
        net = create_model(name, num_classes=3).eval()
        (apex, flow), y, _ = _batch(micro=0, macro=9)
        inputs = [apex, flow] if name == "manet" else [apex]
        net.finish_training(inputs, y)
        assert int(net.bank_rows) == 9 and net.bank.shape == (BANK_SIZE, 64)
        assert torch.allclose(net.bank[:9], net.net.spatial(apex))  # eval-mode features of every row
        assert not net.bank[9:].any()
        assert net.centroids.shape == (3, width) and net.centroid_seen.all()
        assert torch.allclose(net.centroids.norm(dim=1), torch.ones(3))
        assert (net.relation is not None) == (name == "manet")


def test_a_teacher_bundle_teaches_minet_on_micro_rows_alone_and_is_never_trained(tmp_path):
    from microexp.models.micro_macro import read_teacher
    from microexp.training.bundle import load_bundle

    folder = _teacher_bundle(tmp_path / "manet")
    assert load_bundle(folder).trained.name == "manet"  # an ordinary bundle too
    teacher = read_teacher(folder)
    relation_before = [p.clone() for p in teacher.relation.parameters()]
    torch.manual_seed(0)
    model = create_model("minet_transfer", num_classes=3, teacher=str(folder))
    assert model.manet is None and model.relation is None  # nothing of MaNet is trained per fold
    model.train()
    (apex, flow), y, _ = _batch(micro=8, macro=0)
    loss = model.training_loss([apex, flow], y, torch.nn.CrossEntropyLoss(), domain=torch.zeros(8, dtype=torch.long))
    loss.backward()
    assert model.minet.temporal[0][0].weight.grad.abs().sum() > 0  # the relation term reaches MiNet
    assert all(p.grad is None for p in model.teacher().relation.parameters())
    assert all(torch.equal(a, b) for a, b in zip(relation_before, model.teacher().relation.parameters(), strict=True))
    assert not any(key.startswith(("manet", "relation")) for key in model.state_dict())  # not in MiNet's bundle
    # a macro table beside a teacher is refused: the teacher is the macro data
    with pytest.raises(ConfigError, match="leave out --train-table"):
        model.training_loss([apex, flow], y, torch.nn.CrossEntropyLoss(), domain=torch.tensor([0] * 7 + [1]))


def test_a_face_only_teacher_teaches_no_relation_and_contrasts_spatial_features(tmp_path):
    folder = _teacher_bundle(tmp_path / "faces", model="manet_faces")
    (apex, flow), y, _ = _batch(micro=6, macro=0)
    full = create_model("minet_transfer", num_classes=3, teacher=str(folder))
    with pytest.raises(ConfigError, match=r"face-only .*model.relation=false"):
        full.training_loss([apex, flow], y, torch.nn.CrossEntropyLoss())
    model = create_model("minet_transfer", num_classes=3, relation=False, teacher=str(folder))
    model.train()
    model.training_loss([apex, flow], y, torch.nn.CrossEntropyLoss()).backward()
    assert model.teacher().centroids.shape == (3, 64)
    assert model.minet.spatial[0][0].weight.grad.abs().sum() > 0


def test_a_teacher_is_read_only_when_training_starts(tmp_path):
    model = create_model("minet_contrastive", num_classes=3, teacher=str(tmp_path / "elsewhere"))
    model.eval()
    (apex, flow), *_ = _batch(micro=2, macro=0)
    assert model(apex, flow).shape == (2, 3)  # a MiNet bundle predicts without its teacher at hand
    with pytest.raises(Exception, match=r"teacher bundle .*elsewhere: no bundle.json there; train one"):
        model.training_loss([apex, flow], torch.tensor([0, 1]), torch.nn.CrossEntropyLoss())


def test_a_study_refuses_a_teacher_trained_on_a_database_it_evaluates(tmp_path):
    from types import SimpleNamespace

    from microexp.evaluation.study import check_teacher

    micro = make_flow_table(tmp_path / "micro", subjects=2)
    micro = SampleTable("toy", CLASS_NAMES, micro.samples)
    leaky = _teacher_bundle(tmp_path / "leaky", dataset="toy:megc3")
    with pytest.raises(ConfigError, match="trained on toy, which this study evaluates"):
        check_teacher(SimpleNamespace(model_options={"teacher": str(leaky)}), micro)
    # a composite names its parts in its rows: a teacher trained on one of them leaks too
    part = micro.samples.assign(dataset="casme2")
    with pytest.raises(ConfigError, match="trained on casme2"):
        check_teacher(
            SimpleNamespace(model_options={"teacher": str(_teacher_bundle(tmp_path / "c", dataset="casme2"))}),
            SampleTable("megc2019:megc3", CLASS_NAMES, part),
        )
    clean = _teacher_bundle(tmp_path / "clean", dataset="ckplus:megc3")
    check_teacher(SimpleNamespace(model_options={"teacher": str(clean)}), micro)
    other_classes = SampleTable("toy", ("a", "b", "c"), micro.samples)
    with pytest.raises(ConfigError, match="label map"):
        check_teacher(SimpleNamespace(model_options={"teacher": str(clean)}), other_classes)
    check_teacher(SimpleNamespace(model_options={}), micro)  # no teacher, nothing to check
    faces = str(_teacher_bundle(tmp_path / "faces", model="manet_faces", dataset="ckplus48:megc3"))
    with pytest.raises(ConfigError, match="face-only"):
        check_teacher(SimpleNamespace(model="minet_transfer", model_options={"teacher": faces}), micro)
    check_teacher(SimpleNamespace(model="minet_transfer", model_options={"teacher": faces, "relation": False}), micro)


def test_the_composite_s_parts_are_one_evaluated_domain_so_samm_never_passes_for_macro_data():
    from microexp.inputs.dataset import ArrayDataset

    parts = ArrayDataset({"x": np.zeros((4, 2))}, [0, 1, 2, 0], domains=["casme2", "samm", "smic", "samm"])
    assert domain_codes(parts).tolist() == [0, 0, 0, 0]
    with_macro = ArrayDataset(
        {"x": np.zeros((3, 2))},
        [0, 1, 2],
        domains=["samm", "ckplus", "casme2"],
        roles=["evaluate", "train", "evaluate"],
    )
    assert domain_codes(with_macro).tolist() == [0, 1, 0]


def test_a_teacher_whose_weights_are_not_its_model_s_is_one_line(tmp_path):
    from microexp.models.micro_macro import read_teacher

    folder = _teacher_bundle(tmp_path / "faces", model="manet_faces")
    description = json.loads((folder / "bundle.json").read_text())
    (folder / "bundle.json").write_text(json.dumps({**description, "model": "manet"}))  # no relation weights
    with pytest.raises(UnreadableFileError, match=r"bundle.json is not the file the bundle was saved with") as damaged:
        read_teacher(folder)  # the manifest covers the description too, as for any bundle
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["bundle.json"] = file_record(folder / "bundle.json")  # as a careless tool would
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"its weights are not a manet's .*train it again") as refused:
        read_teacher(folder)
    assert "\n" not in str(refused.value) + str(damaged.value)


def test_a_teacher_without_its_weights_file_is_one_line(tmp_path):
    """A teacher folder whose weights were deleted or not copied names the file instead of a traceback."""
    from microexp.models.micro_macro import read_teacher

    folder = _teacher_bundle(tmp_path / "teacher")
    (folder / "weights.safetensors").unlink()
    with pytest.raises(UnreadableFileError, match=r"weights.safetensors cannot be read .*train the teacher") as gone:
        read_teacher(folder)
    assert "\n" not in str(gone.value)
