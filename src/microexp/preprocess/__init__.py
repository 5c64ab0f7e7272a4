"""Preprocessing: raw frames or video → aligned face crops → optical flow, strain and other model inputs.

The onset→apex path for the lead's callers: :func:`~microexp.preprocess.pipeline.clip_flow` (one clip),
:func:`~microexp.preprocess.pipeline.preprocess_clips` (many, cached, in processes).
"""
