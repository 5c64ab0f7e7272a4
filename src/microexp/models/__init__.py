"""Registered models (one file per method) and the layers they share."""

from microexp.models.registry import create_model, get_model_info, list_models, register_model

__all__ = ["create_model", "get_model_info", "list_models", "register_model"]
