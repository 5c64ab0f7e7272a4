"""Landmark regions, revised optical-flow features and an SVM: the pipeline of Li, Yu, Kurihara, Zhang and
Zhan (J. Circuits Syst. Comput. 29(01), 2020; its twin in Multimedia Tools and Applications 78, 2019).

1. Landmarks from the multi-task CNN divide the face into regions: MTCNN's face box with dlib's 68 points
   fitted in it (:func:`microexp.preprocess.faces.landmarks68`), 36 regions around the points where the
   action units move the skin (:mod:`microexp.features.regions`).
2. Optical flow per region over the clip: 12 statistics of each region (mean u, v, magnitude, an 8-bin
   magnitude-weighted orientation histogram, strain energy) of the flows from the onset to the clip's later
   frames, averaged over them; where a database ships only its onset→apex flow (the composite), of that
   flow (:class:`microexp.inputs.descriptors.RegionFlow`). The paper estimates flow with a deep CNN whose
   weights cannot be installed here: the flow is TV-L1 by default and any estimator can be plugged in
   (``--set inputs.flow_method=...``; a new method in :mod:`microexp.preprocess.flow`).
3. The revision, "to reduce redundant dimensions": the paper gives no procedure. Chosen here, before any
   run, as principal components of the standardised statistics keeping 95 % of their variance, fitted on
   the training fold only. Why: the redundancy is between regions (neighbouring regions move together)
   and between statistics (mean magnitude and histogram mass), which is correlation, which PCA removes;
   a main-direction selection is already what MDMO is, and it is measured as its own descriptor
   (``mdmo_svm``). ``--set model.revision=none`` is the ablation.
4. An SVM whose kernel (linear or RBF) and C are chosen by cross-validation over the training subjects only
   (:class:`microexp.models.svm.SubjectCVSVM`).
"""

from __future__ import annotations

from microexp.inputs.descriptors import REGION_FLOW_LENGTH
from microexp.models.registry import register_model
from microexp.models.svm import KERNELS, SubjectCVSVM, subject_cv_svm


@register_model("li_regions", inputs={"region_flow": (REGION_FLOW_LENGTH,)}, backend="sklearn")
def li_regions(
    *,
    num_classes: int,
    in_chans: int,
    revision: str = "pca",
    variance: float = 0.95,
    kernels: tuple[str, ...] = KERNELS,
    cs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0),
    inner_folds: int = 5,
) -> SubjectCVSVM:
    """Li et al.: flow statistics of 36 landmark regions, revised by PCA, SVM chosen by subject CV."""
    del num_classes, in_chans
    return subject_cv_svm(revision, variance, kernels, cs, inner_folds)
