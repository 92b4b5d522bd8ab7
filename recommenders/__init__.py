"""Technique recommenders trained on the TIE corpus: data, models, metrics, pipeline, artifacts."""

__version__ = "0.1.0"
