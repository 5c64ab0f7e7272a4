"""The training engine: configuration, seeding, input loading and the fit/predict loop."""
