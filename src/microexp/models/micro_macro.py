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
rows only: the test subject's clips are never training rows (tests/models/test_micro_macro.py). The issue
asked for a MaNet trained once and loaded as a bundle; that would need the model to load bundles, which
live a stage below (training), so it is not done: training MaNet per fold on 40 CK+ sequences costs little.
CK+48 (peak faces only, no motion) cannot be a training table of this model: the macro rows need a flow.

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
weighting, mirrored training and test inputs. No composite figure chose any of these;
docs/results/micro_macro.md reports what they score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from microexp.errors import ConfigError
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


class TwoStream(nn.Module):
    """Spatial stream on the apex face, temporal stream on the flow, features concatenated and classified."""

    def __init__(self, num_classes: int, feature_dim: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        spatial_grid = APEX_SIZE // 8  # three stride-2 convolutions
        temporal_grid = FLOW_SIZE // 4  # two
        self.spatial = nn.Sequential(
            conv_bn(1, 16, 3, 2),
            conv_bn(16, 32, 3, 2),
            conv_bn(32, 32, 3, 2),
            nn.Flatten(),
            Dropout(dropout),
            nn.Linear(32 * spatial_grid * spatial_grid, feature_dim),
            nn.ReLU(inplace=True),
        )
        self.temporal = nn.Sequential(
            conv_bn(3, 16, 3, 2),
            conv_bn(16, 32, 3, 2),
            nn.Flatten(),
            Dropout(dropout),
            nn.Linear(32 * temporal_grid * temporal_grid, feature_dim),
            nn.ReLU(inplace=True),
        )
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
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.weights = {"adversarial": adversarial_weight, "relation": relation_weight}
        self.contrastive_weight = contrastive_weight
        self.temperature = temperature
        self.minet = TwoStream(num_classes, feature_dim, dropout)
        self.transfer = adversarial or relation or contrastive
        self.manet = TwoStream(num_classes, feature_dim, dropout) if self.transfer else None
        self.discriminator = (
            nn.Sequential(nn.Linear(feature_dim, 32), nn.ReLU(inplace=True), nn.Linear(32, 1)) if adversarial else None
        )
        self.relation = (
            nn.Sequential(nn.Linear(2 * feature_dim, 32), nn.ReLU(inplace=True), nn.Linear(32, len(FRACTIONS)))
            if relation
            else None
        )
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

    def contrastive_loss(self, micro_features: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of cosine similarities (over the temperature) between MiNet's features and MaNet's
        class centroids: pulls towards the clip's class, pushes from the others. Rows whose class MaNet has
        not shown yet, and classes not seen, are left out."""
        seen = self.centroid_seen
        keep = seen[y]
        if not keep.any():
            return micro_features.new_zeros(())
        similarity = F.normalize(micro_features[keep], dim=1) @ self.centroids.T / self.temperature
        similarity = similarity.masked_fill(~seen, float("-inf"))
        return F.cross_entropy(similarity, y[keep])


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
) -> MicroMacroTransfer:
    """MiNet taught by MaNet (Xia & Wang 2021): discriminator, relation classifier and contrastive loss; needs
    a training-only macro table (--train-table ckplus:DIR:megc3)."""
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
    )


def _one_part(part: str, summary: str) -> None:
    """Register ``minet_<part>``: the full method with only that part on, at the full method's weight (an
    ablation by name)."""
    default_weight = {"adversarial": 0.1, "relation": 0.5, "contrastive": 0.5}[part]

    def factory(
        *, num_classes: int, in_chans: int, weight: float = default_weight, feature_dim: int = 64, dropout: float = 0.5
    ) -> MicroMacroTransfer:
        options = {"adversarial": False, "relation": False, "contrastive": False, part: True, f"{part}_weight": weight}
        return minet_transfer(
            num_classes=num_classes, in_chans=in_chans, feature_dim=feature_dim, dropout=dropout, **options
        )

    factory.__doc__ = f"{summary}. Needs a training-only macro table (--train-table ckplus:DIR:megc3)."
    factory.__name__ = f"minet_{part}"
    register_model(f"minet_{part}", inputs=INPUTS, training=TRANSFER_TRAINING)(factory)


_one_part("adversarial", "MiNet + MaNet's domain discriminator on spatial features only (gradient reversal)")
_one_part("relation", "MiNet + the relation classifier on temporal features only (motion at 4 fractions)")
_one_part("contrastive", "MiNet + the contrastive loss towards MaNet's class features only")
