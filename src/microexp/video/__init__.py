"""Long-video analysis: streaming, face tracking, micro-expression spotting and timelines."""
