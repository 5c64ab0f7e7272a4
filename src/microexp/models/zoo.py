"""Imports every built-in model module so their registrations run. Add new method files here."""

from microexp.models import deep_emotion, dsticnn, fdp, fr, frames3d, linear, offapexnet, ststnet  # noqa: F401
