import numpy as np
import pytest

from recommenders.errors import DataError
from recommenders.tie_format import export_tie_model, import_tie_model


def test_export_import_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    path = tmp_path / "model.zip"
    export_tie_model(path, u, v, ["T1001", "T1002", "T1003", "T1003.001"], c=0.001, epochs=25)
    model, ids = import_tie_model(path)
    assert ids == ["T1001", "T1002", "T1003", "T1003.001"]
    assert (
        model.hparams["tie_compat"]
        and model.hparams["c"] == 0.001
        and model.hparams["epochs"] == 25
    )
    np.testing.assert_allclose(model.item_factors, v, rtol=1e-6)


def test_garbage_file(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="TIE model"):
        import_tie_model(path)


def test_real_tie_export(real_data_dir):
    model, ids = import_tie_model(real_data_dir / "tie" / "app.trained.model.zip")
    assert len(ids) == 596 and model.item_factors.shape == (596, 4)
    assert model.hparams["c"] == 0.001 and model.hparams["epochs"] == 25
    import scipy.sparse as sp

    observed = sp.csr_matrix(
        ([1.0, 1.0], ([0, 0], [ids.index("T1059"), ids.index("T1105")])), shape=(1, 596)
    )
    assert np.isfinite(model.score(observed)).all()


def _tie_npz(path, **hyperparameters):
    """A valid TIE export except for whatever `hyperparameters` is given."""
    rng = np.random.default_rng(0)
    with path.open("wb") as file:  # a file object: np.savez would append .npz to a path
        np.savez(
            file,
            U=rng.normal(size=(3, 2)).astype(np.float32),
            V=rng.normal(size=(4, 2)).astype(np.float32),
            technique_ids=np.array(["T1001", "T1002", "T1003", "T1004"]),
            **hyperparameters,
        )
    return path


def _record(fields, values):
    return np.array([values], dtype=np.dtype(fields))


F4 = "<f4"
TIE_FIELDS = [("c", F4), ("epochs", F4), ("regularization_coefficient", F4)]
BAD_HYPERPARAMETERS = {  # case: (the array saved as `hyperparameters`, the field to name)
    "empty": (np.zeros(0, dtype=TIE_FIELDS), "hyperparameters"),
    "plain_array": (np.array([0.001, 25.0, 0.0], dtype=np.float32), "hyperparameters"),
    "scalar": (np.float32(0.001), "hyperparameters"),
    "two_records": (np.zeros(2, dtype=TIE_FIELDS), "hyperparameters"),
    "object_array": (np.array([{"c": 0.001}], dtype=object), "hyperparameters"),
    "missing_c": (_record(TIE_FIELDS[1:], (25, 0)), "hyperparameters.c"),
    "string_c": (_record([("c", "<U5"), *TIE_FIELDS[1:]], ("0.1", 25, 0)), "hyperparameters.c"),
    "nan_epochs": (_record(TIE_FIELDS, (0.1, np.nan, 0)), "hyperparameters.epochs"),
    "fractional_epochs": (_record(TIE_FIELDS, (0.1, 2.5, 0)), "hyperparameters.epochs"),
    "zero_c": (_record(TIE_FIELDS, (0.0, 25, 0)), "hyperparameters.c"),
    "c_above_one": (_record(TIE_FIELDS, (5.0, 25, 0)), "hyperparameters.c"),
    "negative_regularization": (
        _record(TIE_FIELDS, (0.1, 25, -1)),
        "hyperparameters.regularization_coefficient",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_HYPERPARAMETERS))
def test_malformed_hyperparameters_name_the_field(tmp_path, case):
    value, field = BAD_HYPERPARAMETERS[case]
    path = _tie_npz(tmp_path / "model.zip", hyperparameters=value)
    with pytest.raises(DataError) as caught:
        import_tie_model(path)
    message = str(caught.value)
    assert caught.value.field == field and f"field {field!r}" in message
    assert str(path) in message and "Fix: export the model from TIE again" in message
    assert "\n" not in message


def test_missing_hyperparameters_still_import(tmp_path):
    """The record is optional: only a malformed one is refused."""
    model, ids = import_tie_model(_tie_npz(tmp_path / "model.zip"))
    assert len(ids) == 4 and model.item_factors.shape == (4, 2)


def test_missing_array_is_named_once(tmp_path):
    """A DataError raised while reading is not rewrapped as 'not a readable TIE model NPZ'."""
    path = tmp_path / "model.zip"
    with path.open("wb") as file:
        np.savez(file, V=np.zeros((1, 2), dtype=np.float32), technique_ids=np.array(["T1001"]))
    with pytest.raises(DataError) as caught:
        import_tie_model(path)
    assert caught.value.field == "U" and str(caught.value).count("Fix:") == 1
