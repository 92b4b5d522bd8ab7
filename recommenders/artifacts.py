"""Saving and loading trained models: safetensors weights plus a typed JSON manifest.

Nothing in an artifact can run code on load: weights are safetensors (a header and raw tensors),
the manifest is JSON, and the model class comes from our own registry by name. The loader checks
the format version, the weights checksum and the technique vocabulary before it returns a model.
`check_format_version`, `write_weights` and `read_weights` are those checks on their own, so
other artifacts (the text mapper) make the same promises with the same error messages.

`ModelManifest` is the one reader and writer of model.json: training writes it, the envs, the
forecast CLI and replay read its fields by name, never by `.get()` on nested dicts.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
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


def _bare_name(name: Any, path: Path | None, where: str) -> str:
    """A file name inside the data folder, never a path that could point a shared artifact at
    another file of the reader's machine."""
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or Path(name).name != name
        or "\\" in name
    ):
        raise DataError(
            path,
            where,
            f"must be a bare file name inside the data folder, got {name!r}",
            "retrain the model, or restore the artifact's manifest",
        )
    return name


def _section(raw: dict[str, Any], key: str, path: Path | None, where: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise DataError(path, where, "missing or not an object", "rerun training")
    return value


@dataclass(frozen=True)
class TrainingData:
    """The files a model was trained on and how they were read: enough to read them again."""

    corpus_file: str
    corpus_sha256: str
    attack_file: str
    attack_sha256: str = ""
    attack_version: str | None = None
    attack_version_source: str | None = None
    values: str = "binary"
    rollup: bool = False
    origins: tuple[str, ...] | None = None
    procedures: float = 0.0
    """Weight of ATT&CK's procedure examples among the training rows (0: none)."""
    procedure_rows: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "corpus": {"file": self.corpus_file, "sha256": self.corpus_sha256},
            "attack": {
                "file": self.attack_file,
                "sha256": self.attack_sha256,
                "version": self.attack_version,
                "version_source": self.attack_version_source,
            },
            "values": self.values,
            "rollup": self.rollup,
            "origins": list(self.origins) if self.origins else None,
            "procedures": {"weight": self.procedures, "rows": self.procedure_rows},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any], path: Path | None = None) -> TrainingData:
        corpus = _section(raw, "corpus", path, "data.corpus")
        attack = _section(raw, "attack", path, "data.attack")
        origins = raw.get("origins")
        return cls(
            corpus_file=_bare_name(corpus.get("file"), path, "data.corpus.file"),
            corpus_sha256=str(corpus.get("sha256", "")),
            attack_file=_bare_name(attack.get("file"), path, "data.attack.file"),
            attack_sha256=str(attack.get("sha256", "")),
            attack_version=attack.get("version"),
            attack_version_source=attack.get("version_source"),
            values=str(raw.get("values", "binary")),
            rollup=bool(raw.get("rollup", False)),
            origins=tuple(origins) if origins else None,
            # absent in model.json written before procedure rows existed: none were used
            procedures=float((raw.get("procedures") or {}).get("weight", 0.0)),
            procedure_rows=int((raw.get("procedures") or {}).get("rows", 0)),
        )


@dataclass(frozen=True)
class CorpusStats:
    """What a generative adversary needs of the training reports without the corpus itself."""

    report_size_counts: tuple[int, ...]
    """How many training reports hold 0, 1, 2, … techniques."""
    technique_report_counts: tuple[float, ...]
    """How many training reports use each technique, in column order."""

    def to_json(self) -> dict[str, Any]:
        return {
            "report_size_counts": list(self.report_size_counts),
            "technique_report_counts": list(self.technique_report_counts),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CorpusStats:
        return cls(
            tuple(int(c) for c in raw["report_size_counts"]),
            tuple(float(c) for c in raw["technique_report_counts"]),
        )


@dataclass(frozen=True)
class SplitRecord:
    """The report-protocol split the model was trained under: its test reports stay unseen."""

    test_report_ids: tuple[str, ...]
    protocol: str = "report"
    validation: float = 0.1
    test: float = 0.2
    observed_fraction: float = 0.5
    trained_on: str = "train+validation reports"

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "validation": self.validation,
            "test": self.test,
            "observed_fraction": self.observed_fraction,
            "test_report_ids": list(self.test_report_ids),
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SplitRecord:
        return cls(
            tuple(raw["test_report_ids"]),
            raw.get("protocol", "report"),
            float(raw.get("validation", 0.1)),
            float(raw.get("test", 0.2)),
            float(raw.get("observed_fraction", 0.5)),
            raw.get("trained_on", "train+validation reports"),
        )


@dataclass(frozen=True)
class ModelManifest:
    """model.json, typed. `save_model` fills in the family, hyperparameters and checksum."""

    technique_ids: tuple[str, ...]
    """The model's columns, in order."""
    family: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    tactic_order: tuple[str, ...] = ()
    technique_names: dict[str, str] = field(default_factory=dict)
    technique_tactics: dict[str, tuple[str, ...]] = field(default_factory=dict)
    data: TrainingData | None = None
    seed: int | None = None
    corpus_stats: CorpusStats | None = None
    split: SplitRecord | None = None
    metrics: dict[str, Any] | None = None
    weights_sha256: str = ""
    package_version: str = ""
    format_version: int = FORMAT_VERSION
    path: Path | None = field(default=None, compare=False)
    """The model.json it was read from (named in errors about its contents); never written."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "family": self.family,
            "hyperparameters": self.hyperparameters,
            "technique_ids": list(self.technique_ids),
            "weights_sha256": self.weights_sha256,
            "package_version": self.package_version,
            "tactic_order": list(self.tactic_order),
            "technique_names": self.technique_names,
            "technique_tactics": {t: list(ts) for t, ts in self.technique_tactics.items()},
        }
        optional = {
            "name": self.name,
            "seed": self.seed,
            "metrics": self.metrics,
            "data": self.data.to_json() if self.data else None,
            "corpus_stats": self.corpus_stats.to_json() if self.corpus_stats else None,
            "split": self.split.to_json() if self.split else None,
        }
        return {**out, **{k: v for k, v in optional.items() if v is not None}}

    @classmethod
    def from_json(cls, raw: Any, path: Path | None = None) -> ModelManifest:
        """Check and type a manifest; DataError naming the file and field on a bad one."""
        if not isinstance(raw, dict):
            raise DataError(
                path, None, "not a JSON object", "rerun training to rewrite the artifact"
            )
        if "kind" in raw:  # other artifacts (the text mapper) name their kind; recommenders do not
            raise DataError(
                path,
                "kind",
                f"is {raw['kind']!r}: not a recommender artifact",
                "pass a recommender's folder (written by `python -m recommenders.train`)",
            )
        check_format_version(raw.get("format_version"), path)
        family = raw.get("family")
        if family not in FAMILIES:
            raise DataError(
                path, "family", f"unknown family {family!r}", f"use one of {sorted(FAMILIES)}"
            )
        vocabulary = raw.get("technique_ids")
        if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
            raise DataError(path, "technique_ids", "missing or not a list of IDs", "rerun training")
        hparams = raw.get("hyperparameters", {})
        if not isinstance(hparams, dict):
            raise DataError(path, "hyperparameters", "not an object", "rerun training")
        for section in ("data", "corpus_stats", "split", "technique_names", "technique_tactics"):
            if section in raw and not isinstance(raw[section], dict):
                raise DataError(path, section, "not an object", "rerun training")
        stats = raw.get("corpus_stats")
        if stats is not None:
            counts = stats.get("technique_report_counts")
            if not isinstance(counts, list) or len(counts) != len(vocabulary):
                raise DataError(
                    path,
                    "corpus_stats.technique_report_counts",
                    f"must list one count per technique ({len(vocabulary)})",
                    "rerun training",
                )
        try:
            return cls(
                technique_ids=tuple(vocabulary),
                family=family,
                hyperparameters=hparams,
                name=raw.get("name"),
                tactic_order=tuple(raw.get("tactic_order", ())),
                technique_names=dict(raw.get("technique_names", {})),
                technique_tactics={
                    t: tuple(ts) for t, ts in raw.get("technique_tactics", {}).items()
                },
                data=TrainingData.from_json(raw["data"], path) if "data" in raw else None,
                seed=raw.get("seed"),
                corpus_stats=(
                    CorpusStats.from_json(raw["corpus_stats"]) if "corpus_stats" in raw else None
                ),
                split=SplitRecord.from_json(raw["split"]) if "split" in raw else None,
                metrics=raw.get("metrics"),
                weights_sha256=str(raw.get("weights_sha256", "")),
                package_version=str(raw.get("package_version", "")),
                path=path,
            )
        except DataError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(
                path, None, f"malformed manifest ({type(exc).__name__}: {exc})", "rerun training"
            ) from exc


def check_format_version(version: Any, path: Path | None, reads: int = FORMAT_VERSION) -> None:
    """DataError unless an artifact's `format_version` is the one this package reads: another
    version may lay out its fields or tensors differently and load as nonsense."""
    if version != reads:
        raise DataError(
            path,
            "format_version",
            f"is {version!r}, this package reads {reads}",
            "retrain with this version of tie-gym, or install the version that wrote it",
        )


def write_weights(directory: Path, state: Mapping[str, np.ndarray]) -> str:
    """Write `weights.safetensors` atomically; returns its sha256, for the manifest to record."""
    blob = save_safetensors({name: np.ascontiguousarray(array) for name, array in state.items()})
    atomic_write(directory / WEIGHTS, lambda tmp: tmp.write_bytes(blob))
    return hashlib.sha256(blob).hexdigest()


def read_weights(directory: Path, expected_sha256: str) -> dict[str, np.ndarray]:
    """The tensors of `weights.safetensors`, once the file is there, matches the manifest's
    checksum, parses as safetensors (never a pickle) and holds only finite values.

    Raises DataError naming the weights file, the field and the fix on each failure.
    """
    weights_path = directory / WEIGHTS
    if not weights_path.is_file():
        raise DataError(
            weights_path, None, "weights file missing", "rerun training to rewrite the artifact"
        )
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != expected_sha256:
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
    return state


def save_model(model: Recommender, directory: str | Path, manifest: ModelManifest) -> Path:
    """Write `weights.safetensors` then `model.json` (the manifest last, so it marks completeness).

    The manifest's technique IDs must be the model's columns; its family, hyperparameters,
    checksum and versions are filled in here from the model and the weights written.
    """
    directory = Path(directory)
    if model.n_items != len(manifest.technique_ids):
        raise ValueError(
            f"model has {model.n_items} technique columns but the vocabulary has "
            f"{len(manifest.technique_ids)}"
        )
    sha256 = write_weights(directory, model.state_dict())
    complete = dataclasses.replace(
        manifest,
        family=model.family,
        hyperparameters=model.hparams,
        weights_sha256=sha256,
        package_version=recommenders.__version__,
        format_version=FORMAT_VERSION,
    )
    write_json(directory / MANIFEST, complete.to_json())
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
        # training writes a path inside the pointer's folder; one that leaves it (an absolute
        # path, "..") would let a downloaded run folder point the loader anywhere on the disk
        if not path.is_relative_to(pointer.parent.resolve()):
            raise DataError(
                pointer,
                "path",
                f"{target['path']!r} leaves the folder that holds {BEST}",
                "point at a model folder inside it (rerun training to rewrite the pointer)",
            )
    raise DataError(
        path,
        None,
        f"no {MANIFEST} or {BEST} here",
        "pass a model folder, a run folder or an output folder written by `python -m recommenders.train`",
    )


def load_model(
    path: str | Path, expected_vocabulary: list[str] | tuple[str, ...] | None = None
) -> tuple[Recommender, ModelManifest]:
    """Load and verify an artifact; returns the model and its manifest.

    Raises DataError naming the file and the fix on a wrong format version, a checksum or shape
    mismatch (truncated or edited weights), a tensor holding NaN or inf, an unknown family, or a
    vocabulary other than `expected_vocabulary`.
    """
    directory = resolve_model_dir(path)
    manifest_path, weights_path = directory / MANIFEST, directory / WEIGHTS
    manifest = ModelManifest.from_json(read_json(manifest_path), manifest_path)
    vocabulary = list(manifest.technique_ids)
    state = read_weights(directory, manifest.weights_sha256)
    family = manifest.family
    try:
        model = make_model(family, **manifest.hyperparameters)
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


def read_manifest(path: str | Path) -> ModelManifest:
    """Just the manifest, e.g. to show what a model is without loading weights."""
    manifest_path = resolve_model_dir(path) / MANIFEST
    return ModelManifest.from_json(read_json(manifest_path), manifest_path)
