"""Imports every built-in model module so their registrations run. Add new method files here."""

from microexp.models import linear, offapexnet, ststnet  # noqa: F401
