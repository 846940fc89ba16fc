"""`.keras` files written by the step-by-step RegimeLSTM (before issue 13) still load and
predict the same: ``tests/fixtures/regime_lstm_v1.*`` (see ``make_regime_lstm_v1.py``)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"


def test_old_keras_file_loads_and_predicts_the_same():
    import tradenn.layers  # noqa: F401  registers the layers for loading

    saved = np.load(FIXTURES / "regime_lstm_v1.npz")
    model = keras.models.load_model(FIXTURES / "regime_lstm_v1.keras", safe_mode=True)
    inputs = {name: saved[name] for name in ("window", "regime", "regime_seq")}
    # Same float32 arithmetic in another order (the input projection is one matmul over all
    # steps now): equal to float32 rounding, not bit for bit.
    np.testing.assert_allclose(model.predict(inputs, verbose=0), saved["predictions"],
                               rtol=1e-5, atol=1e-6)
    lstm = model.get_layer("lstm_0")
    assert (lstm.units, lstm.activation, lstm.per_unit, lstm.condition_gates) == (4, "elu", True,
                                                                                  True)
    # Every weight was read back (a weight left at its initializer would fail above too,
    # but this names the culprit).
    assert all(np.abs(w.numpy()).max() > 0 for w in model.weights)
