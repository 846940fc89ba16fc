"""The one standardizer used for features, targets and regime detectors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tradenn.scaling import Standardizer


def test_arrays_and_frames_scale_alike_with_population_std():
    values = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, np.nan], [6.0, 10.0]])
    frame = pd.DataFrame(values, columns=["a", "b"], index=pd.date_range("2020", periods=4))
    from_array, from_frame = Standardizer.fit(values), Standardizer.fit(frame)
    np.testing.assert_allclose(from_array.mean, [3.0, 10.0])
    np.testing.assert_allclose(from_array.std, [np.sqrt(3.5), 1.0])  # ddof 0; constant -> 1
    scaled = from_frame.transform(frame[["b", "a"]])  # columns by name, not position
    assert list(scaled.columns) == ["a", "b"] and scaled.index.equals(frame.index)
    np.testing.assert_allclose(scaled.to_numpy(), from_array.transform(values))
    np.testing.assert_allclose(from_array.inverse(from_array.transform(values)), values)
    assert from_frame.std_of("a") == pytest.approx(np.sqrt(3.5))


def test_json_round_trip_and_bad_data():
    scaler = Standardizer.fit(pd.DataFrame({"x": [1.0, 2.0, 4.0]}))
    assert Standardizer.from_dict(json.loads(json.dumps(scaler.to_dict()))) == scaler
    with pytest.raises(ValueError, match="one entry per column"):
        Standardizer.from_dict({"mean": [0.0, 1.0], "std": [1.0]})
