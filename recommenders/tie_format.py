"""Import and export TIE's web-app model format: an NPZ (often named `.zip`) holding
`U` (reports × k), `V` (techniques × k), `technique_ids` and a one-row structured
`hyperparameters` array with fields `c`, `epochs`, `regularization_coefficient`.

Read with `allow_pickle=False`, so a crafted file cannot run code.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from recommenders.errors import DataError
from recommenders.jsonio import atomic_write
from recommenders.models.wals import WALS

_HYPERPARAMETER_DTYPE = np.dtype(
    [("c", "<f4"), ("epochs", "<f4"), ("regularization_coefficient", "<f4")]
)


_HYPERPARAMETER_FIX = (
    "export the model from TIE again, or store hyperparameters as one record with numeric fields "
    "c, epochs, regularization_coefficient"
)


def _read_hyperparameters(path: Path, npz: np.lib.npyio.NpzFile) -> np.void:
    """The one `hyperparameters` record, checked field by field (a raw IndexError names nothing)."""

    def bad(field: str, problem: str) -> DataError:
        return DataError(path, field, problem, _HYPERPARAMETER_FIX)

    try:
        array = npz["hyperparameters"]
    except ValueError as exc:  # e.g. an object array, which would need pickle (refused)
        raise bad("hyperparameters", f"cannot be read ({exc})") from exc
    names = array.dtype.names
    if names is None:
        raise bad("hyperparameters", f"is a plain {array.dtype} array, not a structured record")
    missing = [n for n in _HYPERPARAMETER_DTYPE.names if n not in names]  # type: ignore[union-attr]
    if missing:
        fields = ",".join(f"hyperparameters.{n}" for n in missing)
        raise bad(fields, f"missing (the record has fields {', '.join(names)})")
    if array.size != 1:
        raise bad("hyperparameters", f"holds {array.size} records (shape {array.shape}), not one")
    record = array.reshape(-1)[0]
    for name in _HYPERPARAMETER_DTYPE.names:  # type: ignore[union-attr]
        dtype = array.dtype.fields[name][0]  # type: ignore[index]
        if dtype.kind not in "fiu" or dtype.shape != ():
            raise bad(f"hyperparameters.{name}", f"has dtype {dtype}, not a real number")
        value = float(record[name])
        if not (np.isfinite(value) and value >= 0):
            raise bad(f"hyperparameters.{name}", f"is {value}, not a finite number >= 0")
    if not 0 < float(record["c"]) < 1:  # TIE asserts it: α = 1/c − 1 must be > 0
        raise bad("hyperparameters.c", f"is {float(record['c'])}, not in (0, 1) as TIE requires")
    if not float(record["epochs"]).is_integer():
        raise bad("hyperparameters.epochs", f"is {float(record['epochs'])}, not a whole number")
    return record


def import_tie_model(path: str | Path) -> tuple[WALS, list[str]]:
    """A TIE export → (TIE-compatible WALS model, technique vocabulary)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"U", "V", "technique_ids"} - set(npz.files)
            if missing:
                raise DataError(
                    path,
                    ",".join(sorted(missing)),
                    "missing from the NPZ",
                    "export the model from TIE again",
                )
            u, v = np.asarray(npz["U"], dtype=np.float32), np.asarray(npz["V"], dtype=np.float32)
            technique_ids = [str(t) for t in npz["technique_ids"]]
            hyper = _read_hyperparameters(path, npz) if "hyperparameters" in npz.files else None
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(
            path, None, f"not a readable TIE model NPZ ({exc})", "export the model from TIE again"
        ) from exc
    if v.shape[0] != len(technique_ids) or u.ndim != 2 or v.ndim != 2 or u.shape[1] != v.shape[1]:
        raise DataError(
            path,
            "V",
            f"shapes U{u.shape}, V{v.shape} and {len(technique_ids)} IDs disagree",
            "export again",
        )
    # float32 in the file: round so the manifest shows TIE's 0.001, not 0.0010000000474974513
    c = float(f"{float(hyper['c']):.6g}") if hyper is not None else None
    epochs = int(hyper["epochs"]) if hyper is not None else 0
    reg = float(hyper["regularization_coefficient"]) if hyper is not None else 0.0
    model = WALS(
        factors=u.shape[1], alpha=0.0, regularization=reg, epochs=epochs, tie_compat=True, c=c
    )
    model.load_state_dict({"user_factors": u, "item_factors": v})
    return model, technique_ids


def export_tie_model(
    path: str | Path,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    technique_ids: list[str] | tuple[str, ...],
    c: float = 0.001,
    epochs: int = 0,
    regularization: float = 0.0,
) -> None:
    """Write factors in TIE's format so TIE's web app can load a model trained here (the web app
    folds reports in with TIE's own solve, `WALS(tie_compat=True)`; it requires 0 < c < 1)."""
    if not 0 < c < 1:
        raise ValueError(f"c must lie in (0, 1) (TIE's web app asserts it), got {c}")
    if item_factors.shape[0] != len(technique_ids):
        raise ValueError(
            f"{item_factors.shape[0]} item rows but {len(technique_ids)} technique IDs"
        )
    hyper = np.array([(c, epochs, regularization)], dtype=_HYPERPARAMETER_DTYPE)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        U=np.asarray(user_factors, dtype=np.float32),
        V=np.asarray(item_factors, dtype=np.float32),
        technique_ids=np.asarray(technique_ids, dtype=str),
        hyperparameters=hyper,
    )
    atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))
