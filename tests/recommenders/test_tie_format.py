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
