"""Model families, one file each, all reachable through :func:`create_model`."""

from microexp.models.registry import InputSpec, create_model, get_model_info, list_models, register_model

__all__ = ["InputSpec", "create_model", "get_model_info", "list_models", "register_model"]
