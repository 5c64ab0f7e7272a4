"""Where each built-in model is defined, so loading one model imports its module alone (a scikit-learn
bundle then never imports torch). Add new method files and their model names here; a test checks this
table against what the modules register."""

import importlib

MODEL_MODULES = {
    "deep_emotion": "deep_emotion",
    "deep_emotion_apexflow": "deep_emotion",
    "deep_emotion_paper": "deep_emotion",
    "dsticnn": "dsticnn",
    "dsticnn_paper": "dsticnn",
    "dsticnn_no_interaction": "dsticnn",
    "fdp": "fdp",
    "fdp_paper": "fdp",
    "fdp_no_decoder": "fdp",
    "fdp_mean_pool": "fdp",
    "fdp_apex": "fdp",
    "fr": "fr",
    "fr_no_proposal": "fr",
    "fr_no_attention": "fr",
    "fr_no_fusion": "fr",
    "frames3d": "frames3d",
    "htnet": "htnet",
    "htnet_cpu": "htnet",
    "li_regions": "li_regions",
    "minet": "micro_macro",
    "minet_transfer": "micro_macro",
    "manet": "micro_macro",
    "manet_faces": "micro_macro",
    **{f"minet_{part}": "micro_macro" for part in ("adversarial", "relation", "contrastive")},
    "linear": "linear",
    "landmarks_linear": "linear",
    "offapexnet": "offapexnet",
    "rcn": "rcn",
    "rcn_cpu": "rcn",
    "sssnet": "sssnet",
    "sssnet_cpu": "sssnet",
    "ststnet": "ststnet",
    **{f"{descriptor}_{kind}": "svm" for descriptor in ("lbp_top", "hoof", "mdmo") for kind in ("svm", "linear")},
}


def load_model_module(name: str) -> bool:
    """Import the module that registers the built-in model ``name``; False when no built-in model has it."""
    module = MODEL_MODULES.get(name)
    if module is None:
        return False
    importlib.import_module(f"microexp.models.{module}")
    return True


def load_all() -> None:
    for module in sorted(set(MODEL_MODULES.values())):
        importlib.import_module(f"microexp.models.{module}")
