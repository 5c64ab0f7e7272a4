"""Metrics on pooled predictions, the LOSO runner over folds and seeds, and reports."""
