"""Recommender families, one file each, all behind the `Recommender` interface.

Families are imported when first used: torch (the WALS, BPR and factorization families) costs
seconds and hundreds of MB at import, which an environment running the shipped EASE model, and
every one of its subprocess workers, would otherwise pay for nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from recommenders.models.base import Recommender

FAMILIES: dict[str, str] = {
    "wals": "recommenders.models.wals:WALS",
    "bpr": "recommenders.models.bpr:BPR",
    "top_items": "recommenders.models.top_items:TopItems",
    "factorization": "recommenders.models.factorization:Factorization",
    "ease": "recommenders.models.ease:EASE",
    "implicit_als": "recommenders.models.implicit_models:ImplicitALS",
    "implicit_bpr": "recommenders.models.implicit_models:ImplicitBPR",
}
"""Registry name → where its class lives (a fixed table: never a name read from a file)."""


def family_class(family: str) -> type[Recommender]:
    """The class of a registered family, imported on first use."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; choose among {sorted(FAMILIES)}")
    module, name = FAMILIES[family].split(":")
    return getattr(import_module(module), name)


def make_model(family: str, **hparams: Any) -> Recommender:
    """Build a family by registry name, refusing unknown names and unknown hyperparameters."""
    cls = family_class(family)
    try:
        return cls(**hparams)
    except TypeError as exc:
        raise ValueError(f"bad hyperparameters for {family!r}: {exc}") from exc


__all__ = ["FAMILIES", "Recommender", "family_class", "make_model"]
