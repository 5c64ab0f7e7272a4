"""Preprocessing: raw frames or video → aligned face crops → optical flow, strain and other arrays, as pure
functions. One clip's onset→apex path is :func:`~microexp.preprocess.pipeline.clip_flow`; building model
inputs for a whole table, cached and in processes, is :mod:`microexp.inputs`.
"""
