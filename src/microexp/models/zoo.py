"""Imports every built-in model module so their registrations run. Add new method files here."""

from microexp.models import (  # noqa: F401
    deep_emotion,
    dsticnn,
    fdp,
    fr,
    frames3d,
    htnet,
    li_regions,
    linear,
    offapexnet,
    rcn,
    sssnet,
    ststnet,
    svm,
)
