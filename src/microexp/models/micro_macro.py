"""Macro-to-micro transfer: MiNet taught by MaNet (Xia & Wang, "Micro-Expression Recognition Enhanced by
Macro-Expression from Spatial-Temporal Domain", IJCAI 2021).

What the paper describes, and how it maps onto this module:

1. A two-stream network, :class:`TwoStream`: a spatial stream on the apex face and a temporal stream on the
   clip's motion, their features concatenated and classified. Trained on micro-expressions it is MiNet, on
   macro-expressions MaNet. Here the motion is the onset→apex flow (u, v, strain): all the MEGC2019
   composite ships; CK+ sequences give it from their neutral first frame to the peak.
2. MaNet guides MiNet with three parts, each switchable (``adversarial``, ``relation``, ``contrastive``):

   - a domain discriminator behind a gradient reversal layer (:func:`reverse_gradient`) tells MiNet's
     spatial features of micro clips from MaNet's spatial features of macro clips; MiNet learns to make
     them indistinguishable (aligned);
   - a relation classifier on temporal features predicts the sampling interval of a clip's motion. It
     learns the task on MaNet's temporal features of macro clips; MiNet is then trained so that the same
     classifier, frozen for that term, reads MiNet's temporal features of micro clips correctly;
   - a contrastive loss pulls MiNet's features of a micro clip towards MaNet's features of macro clips of
     the same class (a running mean per class, :meth:`MicroMacroTransfer._update_centroids`) and away
     from the other classes' (softmax over cosine similarities, temperature 0.1).

**What stands in for the sampling intervals.** The paper samples frames at several intervals. The
composite ships one onset→apex flow per clip and no frames, so the motion "sampled at a fraction a of the
onset→apex interval" is the flow scaled by a about its zero (:func:`motion_at_fraction`), which is what
the flow to the frame a of the way to the apex would be if the face moved linearly. The composite's
flows are min-max scaled per clip, so their zero is not 0: the per-channel median over the crop stands in
for it (most of a face does not move), and the scaling is done on the standardised flow, which is an
affine map of the raw one and so commutes with it. One fraction is drawn per clip and batch. The macro
clips get the same stand-in, so the two networks solve the same task; CK+ sequences do hold frames at
several gaps, but no input builder makes several flows per clip yet. Fractions (0.25, 0.5, 0.75, 1.0);
the classifier sees the full-interval feature beside the fraction's, so it judges relative motion as the
paper's relation does.

**Where MaNet comes from.** The macro data are training-only tables of the study (``--train-table
ckplus:DIR:megc3``): the engine gives each training row a domain code, 0 for the evaluated database and 1
and up for training-only tables (:func:`microexp.training.engine.domain_codes`). MaNet is trained inside
each fold on the macro rows only (its own cross-entropy, and the relation task on its temporal features);
MiNet's cross-entropy reads the micro rows only. Every transfer term reads MaNet's features detached, so
nothing of the micro rows reaches MaNet, and the discriminator sees MiNet's features of the fold's training
rows only: the test subject's clips are never training rows (tests/models/test_micro_macro.py). CK+48
(peak faces only, no motion) cannot be such a table: every row of a study's table needs both of the
model's inputs.

**A MaNet trained once (``teacher``).** ``manet`` (two streams, with the relation task on its temporal
features) and ``manet_faces`` (the spatial stream alone: macro appearance, for face-only sets like CK+48)
are models of their own, trained once with ``microexp train`` on a macro database into a bundle. At the
end of their training (:meth:`MaNet.finish_training`, eval mode, every training row) they keep what MiNet
learns from: their class centroids, a bank of their spatial features (up to :data:`BANK_SIZE` rows) and,
for ``manet``, the relation classifier. ``--set model.teacher=BUNDLE`` gives these to a MiNet with
transfer, which then trains on the micro rows alone: the discriminator tells MiNet's spatial features from
as many bank rows drawn at random, the contrastive loss reads the teacher's centroids (spatial features
only for a face-only teacher) and the relation term the teacher's frozen classifier (a face-only teacher
has none: ``model.relation=false``). Nothing of the micro database reaches the teacher: a study refuses a
teacher bundle trained on any database it evaluates (:func:`teacher_databases`, used by
``microexp.evaluation.study``). The teacher is read when training starts, not when the model is built, so
a MiNet bundle loads on a machine without its teacher.

**Choices.** The paper's layer sizes, loss weights and schedule are not available here, so these are
ours, fixed before the first composite run from the size of the inputs and the machine (2 CPU cores,
68 folds in under 5 minutes a seed), and not changed after: spatial stream three 3x3 stride-2
convolutions (16, 32, 32 channels) on the 48x48 grey apex face, temporal stream two (16, 32) on the 28x28
flow, each flattened (position matters) to a 64-value feature with dropout 0.5 before it; classifier with
dropout 0.5 on the 128 values. Discriminator and relation classifier: one hidden layer of 32. Loss
weights: adversarial 0.1 (a small weight because the reversed gradient fights the classifier), relation
0.5, contrastive 0.5; centroid momentum 0.9. Training (``TRANSFER_TRAINING``): FR's schedule cut to 30
epochs (40 made a transfer fold take ~31 s on the shared cores, over the time aim; timed on one fold's
training rows, no score looked at) of Adam (lr 1e-3, weight decay 1e-4, cosine), batch 64, class
weighting, mirrored training and test inputs. MaNet as a teacher bundle: the same streams and schedule,
relation weight 0.5, a bank of 1024 rows (CK+48's 981 fit whole), as many bank rows per batch as micro
rows. No composite figure chose any of these; docs/results/micro_macro.md reports what they score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from microexp.errors import ConfigError, DataNotFoundError
from microexp.files import check_manifest
from microexp.models.fr import FR_TRAINING
from microexp.models.layers import Classifier, Dropout, conv_bn
from microexp.models.registry import register_model

APEX_SIZE = 48
FLOW_SIZE = 28
INPUTS = {"apex": (1, APEX_SIZE, APEX_SIZE), "flow": (3, FLOW_SIZE, FLOW_SIZE)}
FRACTIONS = (0.25, 0.5, 0.75, 1.0)
# FR's schedule (a comparable flow CNN of the same input), cut to 30 epochs for time (see the docstring)
TRANSFER_TRAINING = {**FR_TRAINING, "epochs": 30}
# A transfer model that has seen this many training batches in a row without one macro row is not being
# given its macro table (with CK+'s 40 sequences beside the composite's ~435 clips, a batch of 64 lacks
# them with probability 0.003).
BATCHES_WITHOUT_MACRO = 20
# Rows of a teacher's spatial-feature bank: a fixed size, so a bundle's weights keep one shape whatever the
# macro set's size (CK+48's 981 faces fit whole; a larger set is sampled evenly).
BANK_SIZE = 1024
TEACHER_MODELS = ("manet", "manet_faces")


def conv_stream(in_chans: int, widths: tuple[int, ...], side: int, feature_dim: int, dropout: float) -> nn.Sequential:
    """Stride-2 3x3 convolutions of ``widths`` on a ``side``-square input, flattened (position matters) to
    ``feature_dim`` features with dropout before them: both streams of MiNet and MaNet."""
    channels = (in_chans, *widths)
    grid = side // 2 ** len(widths)
    convolutions = [conv_bn(channels[i], channels[i + 1], 3, 2) for i in range(len(widths))]
    return nn.Sequential(
        *convolutions,
        nn.Flatten(),
        Dropout(dropout),
        nn.Linear(widths[-1] * grid * grid, feature_dim),
        nn.ReLU(inplace=True),
    )


def spatial_stream(feature_dim: int, dropout: float) -> nn.Sequential:
    """Three stride-2 convolutions (16, 32, 32) on the 48x48 grey apex face."""
    return conv_stream(1, (16, 32, 32), APEX_SIZE, feature_dim, dropout)


def relation_head(feature_dim: int) -> nn.Sequential:
    """Which fraction of the motion a temporal feature shows, read beside the whole motion's feature."""
    return nn.Sequential(nn.Linear(2 * feature_dim, 32), nn.ReLU(inplace=True), nn.Linear(32, len(FRACTIONS)))


class TwoStream(nn.Module):
    """Spatial stream on the apex face, temporal stream on the flow, features concatenated and classified."""

    def __init__(self, num_classes: int, feature_dim: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        self.spatial = spatial_stream(feature_dim, dropout)
        self.temporal = conv_stream(3, (16, 32), FLOW_SIZE, feature_dim, dropout)  # the 28x28 (u, v, strain) flow
        self.classify = nn.Sequential(Dropout(dropout), nn.Linear(2 * feature_dim, num_classes))

    def features(self, apex: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.spatial(apex), self.temporal(flow)

    def forward(self, apex: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        return self.classify(torch.cat(self.features(apex, flow), dim=1))


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; the gradient times ``-scale`` backward (Ganin & Lempitsky 2015): what lies before
    it learns to defeat the discriminator after it, in one backward pass."""
    return _GradientReversal.apply(x, scale)


def motion_at_fraction(flow: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """Each flow (B, C, H, W) scaled by its clip's ``fraction`` (B,) about its per-channel median (the zero of
    a min-max scaled flow): under linear motion, the flow from the onset to the frame that fraction of the
    way to the apex."""
    zero = flow.flatten(2).median(dim=2).values[..., None, None]
    return zero + fraction.view(-1, 1, 1, 1) * (flow - zero)


class MicroMacroTransfer(Classifier):
    """MiNet (what predicts) plus, when any transfer part is on, MaNet and the parts' heads for training."""

    def __init__(
        self,
        num_classes: int,
        *,
        adversarial: bool = False,
        relation: bool = False,
        contrastive: bool = False,
        adversarial_weight: float = 0.1,
        relation_weight: float = 0.5,
        contrastive_weight: float = 0.5,
        temperature: float = 0.1,
        feature_dim: int = 64,
        dropout: float = 0.5,
        teacher: str | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.weights = {"adversarial": adversarial_weight, "relation": relation_weight}
        self.contrastive_weight = contrastive_weight
        self.temperature = temperature
        self.minet = TwoStream(num_classes, feature_dim, dropout)
        self.transfer = adversarial or relation or contrastive
        if teacher is not None and not self.transfer:
            raise ValueError("a teacher teaches through the transfer parts: choose minet_transfer or one part")
        # with a teacher bundle, MaNet and the relation classifier were trained once, before this model
        self.teacher_path = teacher
        self._teacher: Teacher | None = None  # read when training starts (see the module docstring)
        self.manet = TwoStream(num_classes, feature_dim, dropout) if self.transfer and teacher is None else None
        self.discriminator = (
            nn.Sequential(nn.Linear(feature_dim, 32), nn.ReLU(inplace=True), nn.Linear(32, 1)) if adversarial else None
        )
        self.relation = relation_head(feature_dim) if relation and teacher is None else None
        self.use_relation = relation
        self.contrastive = contrastive
        # MaNet's features per class (unit length), a running mean over the macro rows seen in training.
        self.register_buffer("centroids", torch.zeros(num_classes, 2 * feature_dim))
        self.register_buffer("centroid_seen", torch.zeros(num_classes, dtype=torch.bool))
        self.batches_without_macro = 0

    def forward(self, apex: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        return self.minet(apex, flow)

    def spatial_features(self, apex: torch.Tensor) -> torch.Tensor:
        """MiNet's spatial features (B, feature_dim): what the discriminator aligns, and what viz plots."""
        return self.minet.spatial(apex)

    def training_loss(self, inputs, y: torch.Tensor, criterion: nn.Module, domain=None) -> torch.Tensor:
        """MiNet's cross-entropy on the micro rows (domain 0); with transfer, MaNet's on the macro rows
        (domain 1 and up) and the weighted transfer terms."""
        apex, flow = inputs
        if not self.transfer:
            return criterion(self.minet(apex, flow), y)
        if self.teacher_path is not None:
            return self._taught_loss(apex, flow, y, criterion, domain)
        if domain is None:
            raise ConfigError("a MiNet-with-transfer model needs each training row's domain (micro or macro)")
        micro, macro = domain == 0, domain > 0
        self._check_macro_arrives(bool(macro.any()))
        loss = apex.new_zeros(())
        if micro.any():
            mi_spatial, mi_temporal = self.minet.features(apex[micro], flow[micro])
            loss = loss + criterion(self.minet.classify(torch.cat([mi_spatial, mi_temporal], 1)), y[micro])
        if macro.any():
            ma_spatial, ma_temporal = self.manet.features(apex[macro], flow[macro])
            loss = loss + criterion(self.manet.classify(torch.cat([ma_spatial, ma_temporal], 1)), y[macro])
            if self.relation is not None:
                loss = loss + self.weights["relation"] * self._relation_loss(
                    self.manet, flow[macro], ma_temporal, self.relation
                )
            if self.contrastive:
                self._update_centroids(torch.cat([ma_spatial, ma_temporal], 1).detach(), y[macro])
        if not (micro.any() and macro.any()):
            return loss
        if self.discriminator is not None:
            loss = loss + self.weights["adversarial"] * self._domain_loss(mi_spatial, ma_spatial.detach())
        if self.relation is not None:
            # the classifier MaNet's features taught, frozen here: only MiNet moves to satisfy it
            frozen = _frozen_copy(self.relation)
            loss = loss + self.weights["relation"] * self._relation_loss(self.minet, flow[micro], mi_temporal, frozen)
        if self.contrastive:
            loss = loss + self.contrastive_weight * self.contrastive_loss(
                torch.cat([mi_spatial, mi_temporal], 1), y[micro]
            )
        return loss

    def _taught_loss(self, apex, flow, y, criterion, domain) -> torch.Tensor:
        """MiNet's loss with a teacher bundle: the micro rows alone, the transfer terms from what the
        teacher kept (its feature bank, its frozen relation classifier, its class centroids)."""
        if domain is not None and bool((domain > 0).any()):
            raise ConfigError(
                f"MiNet with teacher {self.teacher_path} was also given a macro training table: the teacher is "
                "the macro data; leave out --train-table, or the teacher to train MaNet inside each fold"
            )
        teacher = self.teacher(apex.device)
        spatial, temporal = self.minet.features(apex, flow)
        loss = criterion(self.minet.classify(torch.cat([spatial, temporal], 1)), y)
        if self.discriminator is not None:
            # as many of the teacher's macro features as there are micro rows, drawn from torch's global generator
            # (seeded by the engine for each task, so a task draws the same rows every run)
            drawn = teacher.bank[torch.randint(len(teacher.bank), (len(apex),), device=apex.device)]
            loss = loss + self.weights["adversarial"] * self._domain_loss(spatial, drawn)
        if self.use_relation:
            loss = loss + self.weights["relation"] * self._relation_loss(self.minet, flow, temporal, teacher.relation)
        if self.contrastive:
            features = torch.cat([spatial, temporal], 1) if teacher.motion else spatial
            loss = loss + self.contrastive_weight * self.contrastive_loss(
                features, y, teacher.centroids, teacher.centroid_seen
            )
        return loss

    def teacher(self, device: torch.device | str = "cpu") -> Teacher:
        """The teacher bundle's parts, read once and checked against this model."""
        if self._teacher is None:
            teacher = read_teacher(self.teacher_path)
            where = f"teacher bundle {self.teacher_path}"
            if teacher.num_classes != self.num_classes:
                raise ConfigError(
                    f"{where} has {teacher.num_classes} classes, this study {self.num_classes}: train the teacher "
                    "with the study's label map (e.g. --label-map megc3)"
                )
            if teacher.bank.shape[1] != self.feature_dim:
                raise ConfigError(f"{where} has {teacher.bank.shape[1]}-value features, MiNet {self.feature_dim}")
            if self.use_relation and teacher.relation is None:
                raise ConfigError(
                    f"{where} is face-only ({teacher.model}): it has no temporal features to teach a relation; "
                    "--set model.relation=false, or a teacher trained as manet on sequences"
                )
            self._teacher = teacher
        self._teacher = self._teacher.to(device)
        return self._teacher

    def _check_macro_arrives(self, has_macro: bool) -> None:
        self.batches_without_macro = 0 if has_macro else self.batches_without_macro + 1
        if self.batches_without_macro >= BATCHES_WITHOUT_MACRO:
            raise ConfigError(
                f"no macro-expression row in {BATCHES_WITHOUT_MACRO} training batches in a row: a MiNet-with-"
                "transfer model needs a training-only macro table, e.g. --train-table "
                "ckplus:../shared/data/macro/ckplus_sequences:megc3"
            )

    def _domain_loss(self, micro_spatial: torch.Tensor, macro_spatial: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of the discriminator (macro = 1), each domain's mean weighted alike (micro
        rows outnumber macro ones); MiNet receives the reversed gradient."""
        micro_logit = self.discriminator(reverse_gradient(micro_spatial)).squeeze(1)
        macro_logit = self.discriminator(macro_spatial).squeeze(1)
        return 0.5 * (
            F.binary_cross_entropy_with_logits(micro_logit, torch.zeros_like(micro_logit))
            + F.binary_cross_entropy_with_logits(macro_logit, torch.ones_like(macro_logit))
        )

    @staticmethod
    def _relation_loss(
        network: TwoStream, flow: torch.Tensor, whole: torch.Tensor, relation: nn.Module
    ) -> torch.Tensor:
        """Cross-entropy of predicting which fraction of the onset→apex motion a temporal feature shows,
        beside ``whole``, the feature of the whole motion. One fraction drawn per clip and batch (the
        engine's seeded generator): one extra temporal pass instead of one per fraction."""
        target = torch.randint(len(FRACTIONS), (len(flow),), device=flow.device)
        fractions = torch.as_tensor(FRACTIONS, dtype=flow.dtype, device=flow.device)[target]
        features = network.temporal(motion_at_fraction(flow, fractions))
        return F.cross_entropy(relation(torch.cat([whole, features], 1)), target)

    @torch.no_grad()
    def _update_centroids(self, macro_features: torch.Tensor, y: torch.Tensor, momentum: float = 0.9) -> None:
        features = F.normalize(macro_features, dim=1)
        for label in y.unique():
            mean = features[y == label].mean(0)
            old = self.centroids[label]
            new = momentum * old + (1 - momentum) * mean if self.centroid_seen[label] else mean
            self.centroids[label] = F.normalize(new, dim=0)
            self.centroid_seen[label] = True

    def contrastive_loss(
        self,
        micro_features: torch.Tensor,
        y: torch.Tensor,
        centroids: torch.Tensor | None = None,
        seen: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Cross-entropy of cosine similarities (over the temperature) between MiNet's features and MaNet's
        class centroids (this model's running ones unless given): pulls towards the clip's class, pushes
        from the others. Rows whose class MaNet has not shown yet, and classes not seen, are left out."""
        centroids = self.centroids if centroids is None else centroids
        seen = self.centroid_seen if seen is None else seen
        keep = seen[y]
        if not keep.any():
            return micro_features.new_zeros(())
        similarity = F.normalize(micro_features[keep], dim=1) @ centroids.T / self.temperature
        similarity = similarity.masked_fill(~seen, float("-inf"))
        return F.cross_entropy(similarity, y[keep])


class MaNet(Classifier):
    """MaNet trained once on a macro database, to teach MiNets later (``teacher``). ``motion``: both
    streams and the relation task on the temporal features (``manet``, sequences); without it the spatial
    stream alone (``manet_faces``, face-only sets like CK+48). :meth:`finish_training` keeps what a MiNet
    reads: class centroids, a bank of spatial features, and (with motion) the relation classifier."""

    def __init__(
        self,
        num_classes: int,
        *,
        motion: bool = True,
        relation_weight: float = 0.5,
        feature_dim: int = 64,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.motion = motion
        self.relation_weight = relation_weight
        if motion:
            self.net = TwoStream(num_classes, feature_dim, dropout)
            self.relation = relation_head(feature_dim)
        else:
            self.net = nn.Module()
            self.net.spatial = spatial_stream(feature_dim, dropout)
            self.net.classify = nn.Sequential(Dropout(dropout), nn.Linear(feature_dim, num_classes))
            self.relation = None
        centroid_dim = 2 * feature_dim if motion else feature_dim
        self.register_buffer("centroids", torch.zeros(num_classes, centroid_dim))
        self.register_buffer("centroid_seen", torch.zeros(num_classes, dtype=torch.bool))
        self.register_buffer("bank", torch.zeros(BANK_SIZE, feature_dim))
        self.register_buffer("bank_rows", torch.zeros((), dtype=torch.long))

    def features(self, apex: torch.Tensor, flow: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(spatial features, what the classifier and the centroids read: both streams' or the spatial)."""
        spatial = self.net.spatial(apex)
        if not self.motion:
            return spatial, spatial
        return spatial, torch.cat([spatial, self.net.temporal(flow)], 1)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net.classify(self.features(*inputs)[1])

    def training_loss(self, inputs, y: torch.Tensor, criterion: nn.Module, domain=None) -> torch.Tensor:
        """Cross-entropy (and the relation task) on every row: several macro tables (--train-table) pool."""
        _, joint = self.features(*inputs)
        loss = criterion(self.net.classify(joint), y)
        if self.relation is not None:
            temporal = joint[:, joint.shape[1] // 2 :]
            loss = loss + self.relation_weight * MicroMacroTransfer._relation_loss(
                self.net, inputs[1], temporal, self.relation
            )
        return loss

    @torch.no_grad()
    def finish_training(self, inputs, y: torch.Tensor) -> None:
        """Called by the engine once training ends, in eval mode, with every training row (standardised):
        the unit-length mean feature per class, and the spatial features of up to BANK_SIZE rows."""
        spatial, joint = self.features(*inputs)
        features = F.normalize(joint, dim=1)
        self.centroids.zero_()
        self.centroid_seen.zero_()
        for label in y.unique():
            self.centroids[label] = F.normalize(features[y == label].mean(0), dim=0)
            self.centroid_seen[label] = True
        rows = torch.linspace(0, len(spatial) - 1, min(len(spatial), BANK_SIZE)).round().long()
        self.bank.zero_()
        self.bank[: len(rows)] = spatial[rows]
        self.bank_rows.fill_(len(rows))


@dataclass(frozen=True)
class Teacher:
    """What a MaNet bundle teaches: its spatial-feature bank, class centroids and, with motion, the frozen
    relation classifier; and what it was trained on."""

    model: str
    num_classes: int
    classes: tuple[str, ...]
    databases: frozenset[str]
    motion: bool
    bank: torch.Tensor
    centroids: torch.Tensor
    centroid_seen: torch.Tensor
    relation: nn.Module | None

    def to(self, device: torch.device | str) -> Teacher:
        if self.bank.device == torch.device(device):
            return self
        relation = None if self.relation is None else self.relation.to(device)
        return Teacher(
            self.model,
            self.num_classes,
            self.classes,
            self.databases,
            self.motion,
            self.bank.to(device),
            self.centroids.to(device),
            self.centroid_seen.to(device),
            relation,
        )


def teacher_description(path: str | Path) -> dict:
    """A teacher bundle's bundle.json, checked to be a MaNet's (one line naming the bundle if not)."""
    folder = Path(path)
    description_file = folder / "bundle.json"
    if not description_file.is_file():
        raise DataNotFoundError(
            f"teacher bundle {folder}: no bundle.json there; train one with `microexp train --model manet "
            "--dataset ckplus --data-dir DIR --label-map megc3 --out FOLDER` (or manet_faces on ckplus48)"
        )
    try:
        description = json.loads(description_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"teacher bundle {folder}: bundle.json cannot be read ({error}); train it again") from None
    if description.get("model") not in TEACHER_MODELS:
        raise ConfigError(
            f"teacher bundle {folder} holds {description.get('model')!r}; a teacher is a {' or '.join(TEACHER_MODELS)} "
            "bundle"
        )
    return description


def teacher_databases(description: dict) -> frozenset[str]:
    """Every database a teacher bundle was trained on: its table's names and its rows' databases."""
    names = {part.split(":")[0] for part in str(description.get("dataset", "")).split("+") if part}
    names |= set((description.get("preprocessing") or {}).get("inputs_by_dataset") or {})
    return frozenset(names)


def read_teacher(path: str | Path) -> Teacher:
    """The parts of a MaNet bundle a MiNet learns from. The weights file is checked against the bundle's
    manifest and read with safetensors (tensors only: nothing in it can run code)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(path)
    description = teacher_description(folder)
    # the files and manifest of microexp.training.bundle's format (that layer sits above the models)
    check_manifest(folder, ("bundle.json", "weights.safetensors"), "manifest.json", "train the teacher again")
    try:
        state = load_file(str(folder / "weights.safetensors"))
    except (OSError, SafetensorError) as error:
        raise ConfigError(f"teacher bundle {folder}: cannot read its weights ({error}); train it again") from None
    motion = description["model"] == "manet"
    try:
        rows = int(state["bank_rows"])
        seen = state["centroid_seen"]
        relation = None
        if motion:
            relation = relation_head(state["bank"].shape[1])
            relation.load_state_dict(
                {key[len("relation.") :]: value for key, value in state.items() if key.startswith("relation.")}
            )
            relation.requires_grad_(False)  # frozen: only MiNet moves to satisfy it
            relation.eval()
    except (KeyError, RuntimeError) as error:
        raise ConfigError(
            f"teacher bundle {folder}: its weights are not a {description['model']}'s "
            f"({' '.join(str(error).split())}); train it again"  # torch's message spans lines
        ) from None
    if rows == 0 or not bool(seen.any()):
        raise ConfigError(
            f"teacher bundle {folder} kept no features: it was saved before training ended; train it again"
        )
    return Teacher(
        model=description["model"],
        num_classes=int(description["num_classes"]),
        classes=tuple(description.get("classes") or ()),
        databases=teacher_databases(description),
        motion=motion,
        bank=state["bank"][:rows],
        centroids=state["centroids"],
        centroid_seen=seen,
        relation=relation,
    )


def _frozen_copy(module: nn.Module) -> nn.Module:
    """A function of ``module``'s current weights that passes gradients to its input only."""
    weights = {name: value.detach() for name, value in module.named_parameters()}
    return lambda x: torch.func.functional_call(module, weights, (x,))


def _check_channels(in_chans: int) -> None:
    if in_chans != 4:
        raise ValueError(f"MiNet takes a grey apex face and a 3-channel flow (in_chans 4), got in_chans {in_chans}")


@register_model("minet", inputs=INPUTS, training=TRANSFER_TRAINING)
def minet(*, num_classes: int, in_chans: int, feature_dim: int = 64, dropout: float = 0.5) -> MicroMacroTransfer:
    """Two-stream MiNet alone (Xia & Wang 2021's baseline): apex-face and onset-apex-flow streams, fused."""
    _check_channels(in_chans)
    return MicroMacroTransfer(num_classes, feature_dim=feature_dim, dropout=dropout)


@register_model("minet_transfer", inputs=INPUTS, training=TRANSFER_TRAINING)
def minet_transfer(
    *,
    num_classes: int,
    in_chans: int,
    adversarial: bool = True,
    relation: bool = True,
    contrastive: bool = True,
    adversarial_weight: float = 0.1,
    relation_weight: float = 0.5,
    contrastive_weight: float = 0.5,
    temperature: float = 0.1,
    feature_dim: int = 64,
    dropout: float = 0.5,
    teacher: str | None = None,
) -> MicroMacroTransfer:
    """MiNet taught by MaNet (Xia & Wang 2021): discriminator, relation classifier and contrastive loss; needs
    a training-only macro table (--train-table ckplus:DIR:megc3) or a MaNet bundle (--set model.teacher=DIR)."""
    _check_channels(in_chans)
    if not (adversarial or relation or contrastive):
        raise ValueError("minet_transfer with every transfer part off is minet: choose --model minet")
    return MicroMacroTransfer(
        num_classes,
        adversarial=adversarial,
        relation=relation,
        contrastive=contrastive,
        adversarial_weight=adversarial_weight,
        relation_weight=relation_weight,
        contrastive_weight=contrastive_weight,
        temperature=temperature,
        feature_dim=feature_dim,
        dropout=dropout,
        teacher=teacher,
    )


def _one_part(part: str, summary: str) -> None:
    """Register ``minet_<part>``: the full method with only that part on, at the full method's weight (an
    ablation by name)."""
    default_weight = {"adversarial": 0.1, "relation": 0.5, "contrastive": 0.5}[part]

    def factory(
        *,
        num_classes: int,
        in_chans: int,
        weight: float = default_weight,
        feature_dim: int = 64,
        dropout: float = 0.5,
        teacher: str | None = None,
    ) -> MicroMacroTransfer:
        options = {"adversarial": False, "relation": False, "contrastive": False, part: True, f"{part}_weight": weight}
        return minet_transfer(
            num_classes=num_classes,
            in_chans=in_chans,
            feature_dim=feature_dim,
            dropout=dropout,
            teacher=teacher,
            **options,
        )

    factory.__doc__ = (
        f"{summary}. Needs a training-only macro table (--train-table ckplus:DIR:megc3) or a MaNet bundle "
        "(--set model.teacher=DIR)."
    )
    factory.__name__ = f"minet_{part}"
    register_model(f"minet_{part}", inputs=INPUTS, training=TRANSFER_TRAINING)(factory)


_one_part("adversarial", "MiNet + MaNet's domain discriminator on spatial features only (gradient reversal)")
_one_part("relation", "MiNet + the relation classifier on temporal features only (motion at 4 fractions)")
_one_part("contrastive", "MiNet + the contrastive loss towards MaNet's class features only")


@register_model("manet", inputs=INPUTS, training=TRANSFER_TRAINING)
def manet(
    *, num_classes: int, in_chans: int, relation_weight: float = 0.5, feature_dim: int = 64, dropout: float = 0.5
) -> MaNet:
    """MaNet, trained once on macro sequences (apex face + onset-apex flow, relation task) as a MiNet teacher
    bundle: microexp train --model manet --dataset ckplus --label-map megc3; then --set model.teacher=DIR."""
    _check_channels(in_chans)
    return MaNet(num_classes, motion=True, relation_weight=relation_weight, feature_dim=feature_dim, dropout=dropout)


@register_model("manet_faces", inputs={"apex": INPUTS["apex"]}, training=TRANSFER_TRAINING)
def manet_faces(*, num_classes: int, in_chans: int, feature_dim: int = 64, dropout: float = 0.5) -> MaNet:
    """MaNet on macro faces alone (spatial stream: appearance, no motion), e.g. CK+48, as a MiNet teacher
    bundle (relation off: --set model.relation=false on the MiNet it teaches)."""
    if in_chans != 1:
        raise ValueError(f"manet_faces takes a grey apex face (in_chans 1), got in_chans {in_chans}")
    return MaNet(num_classes, motion=False, feature_dim=feature_dim, dropout=dropout)
