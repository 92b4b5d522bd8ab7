"""Saving and loading trained models: safetensors weights plus a JSON manifest.

Nothing in an artifact can run code on load: weights are safetensors (a header and raw tensors),
the manifest is JSON, and the model class comes from our own registry by name. The loader checks
the format version, the weights checksum and the technique vocabulary before it returns a model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

import recommenders
from recommenders.errors import DataError
from recommenders.jsonio import atomic_write, read_json, write_json
from recommenders.models import FAMILIES, Recommender, make_model

FORMAT_VERSION = 1
DEFAULT_MODEL_DIR = Path(__file__).with_name("default_model")
"""The small artifact shipped inside the package (EASE on the TIE corpus), made by
`python -m recommenders.build_default`: what the envs and the forecast CLI use out of the box."""
WEIGHTS = "weights.safetensors"
MANIFEST = "model.json"
BEST = "best.json"


def save_model(
    model: Recommender,
    directory: str | Path,
    vocabulary: tuple[str, ...] | list[str],
    **provenance: Any,
) -> Path:
    """Write `weights.safetensors` then `model.json` (the manifest last, so it marks completeness).

    Args:
        vocabulary: the technique IDs of the model's columns, in column order.
        provenance: JSON-serialisable extras for the manifest (tactic order, data checksums,
            seed, split, metrics …).
    """
    directory = Path(directory)
    state = {name: np.ascontiguousarray(array) for name, array in model.state_dict().items()}
    if model.n_items != len(vocabulary):
        raise ValueError(
            f"model has {model.n_items} technique columns but the vocabulary has {len(vocabulary)}"
        )
    blob = save_safetensors(state)
    atomic_write(directory / WEIGHTS, lambda tmp: tmp.write_bytes(blob))
    manifest = {
        "format_version": FORMAT_VERSION,
        "family": model.family,
        "hyperparameters": model.hparams,
        "technique_ids": list(vocabulary),
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
        "package_version": recommenders.__version__,
        **provenance,
    }
    write_json(directory / MANIFEST, manifest)
    return directory


def resolve_model_dir(path: str | Path) -> Path:
    """A model folder, or a run/output folder whose `best.json` names one."""
    path = Path(path)
    for _ in range(3):
        if (path / MANIFEST).is_file():
            return path
        pointer = path / BEST
        if not pointer.is_file():
            break
        target = read_json(pointer)
        if not isinstance(target, dict) or not isinstance(target.get("path"), str):
            raise DataError(
                pointer, "path", "missing or not a string", "rerun training to rewrite the pointer"
            )
        path = (pointer.parent / target["path"]).resolve()
    raise DataError(
        path,
        None,
        f"no {MANIFEST} or {BEST} here",
        "pass a model folder, a run folder or an output folder written by `python -m recommenders.train`",
    )


def load_model(
    path: str | Path, expected_vocabulary: list[str] | tuple[str, ...] | None = None
) -> tuple[Recommender, dict[str, Any]]:
    """Load and verify an artifact; returns the model and its manifest.

    Raises DataError naming the file and the fix on a wrong format version, a checksum or shape
    mismatch (truncated or edited weights), a tensor holding NaN or inf, an unknown family, or a
    vocabulary other than `expected_vocabulary`.
    """
    directory = resolve_model_dir(path)
    manifest_path, weights_path = directory / MANIFEST, directory / WEIGHTS
    manifest = read_json(manifest_path)
    if not isinstance(manifest, dict):
        raise DataError(
            manifest_path, None, "not a JSON object", "rerun training to rewrite the artifact"
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise DataError(
            manifest_path,
            "format_version",
            f"is {version!r}, this package reads {FORMAT_VERSION}",
            "retrain with this version of tie-gym, or install the version that wrote it",
        )
    family = manifest.get("family")
    if family not in FAMILIES:
        raise DataError(
            manifest_path, "family", f"unknown family {family!r}", f"use one of {sorted(FAMILIES)}"
        )
    vocabulary = manifest.get("technique_ids")
    if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
        raise DataError(
            manifest_path, "technique_ids", "missing or not a list of IDs", "rerun training"
        )
    if not weights_path.is_file():
        raise DataError(
            weights_path, None, "weights file missing", "rerun training to rewrite the artifact"
        )
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != manifest.get("weights_sha256"):
        raise DataError(
            weights_path,
            "weights_sha256",
            "checksum does not match the manifest (truncated or modified)",
            "re-copy the artifact or retrain",
        )
    try:
        state = load_safetensors(blob)
    except (SafetensorError, ValueError) as exc:
        raise DataError(
            weights_path, None, f"not a safetensors file ({exc})", "retrain to rewrite the artifact"
        ) from exc
    for name, tensor in state.items():
        # The checksum proves the file is what training wrote, not that training converged: a
        # diverged fit saves NaN/inf that would otherwise load silently and rank at random.
        if not np.all(np.isfinite(tensor)):
            raise DataError(
                weights_path,
                name,
                f"tensor {name!r} {tensor.shape} holds {int(np.sum(~np.isfinite(tensor)))} "
                "non-finite values (NaN or inf)",
                "retrain (lower the learning rate or raise the regularisation if it diverged)",
            )
    hparams = manifest.get("hyperparameters", {})
    if not isinstance(hparams, dict):
        raise DataError(manifest_path, "hyperparameters", "not an object", "rerun training")
    try:
        model = make_model(family, **hparams)
        model.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        raise DataError(
            weights_path, None, f"weights do not fit a {family} model ({exc})", "retrain"
        ) from exc
    if model.n_items != len(vocabulary):
        raise DataError(
            weights_path,
            "technique_ids",
            f"weights have {model.n_items} technique columns but the manifest lists {len(vocabulary)}",
            "retrain",
        )
    if expected_vocabulary is not None and list(expected_vocabulary) != vocabulary:
        theirs, ours = set(vocabulary), set(expected_vocabulary)
        diff = sorted(theirs ^ ours)
        raise DataError(
            manifest_path,
            "technique_ids",
            f"model was trained on another technique vocabulary ({len(vocabulary)} vs {len(expected_vocabulary)} "
            f"techniques; {len(diff)} differ, e.g. {diff[:5]}, or the order differs)",
            "retrain on this data, or load data with the model's ATT&CK version and options",
        )
    return model, manifest


def write_best_pointer(directory: str | Path, target: str | Path) -> None:
    """`best.json` pointing (relatively) at the model the environments should load."""
    directory = Path(directory)
    relative = Path(target).resolve().relative_to(directory.resolve())
    write_json(directory / BEST, {"path": relative.as_posix()})


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Just the manifest, e.g. to show what a model is without loading weights."""
    return json.loads((resolve_model_dir(path) / MANIFEST).read_text(encoding="utf-8"))
