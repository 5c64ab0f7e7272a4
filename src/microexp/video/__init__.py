"""Long-video analysis: streaming, face tracking, micro-expression spotting and timelines (imports data,
preprocess, inputs, models and training; viz and the CLI import it)."""
