"""JSON for results: non-finite numbers spelled out, the fast paths equal to the element-wise one."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy
import torch

from losslab.descent.race import Runner, race
from losslab.objectives.gallery import gallery
from losslab.serialize import dumps, json_bytes, jsonable

INF, NAN = math.inf, math.nan


def _slow(value):
    """The element-wise definition: what jsonable must equal, whichever path it takes."""
    if isinstance(value, list | tuple):
        return [_slow(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


@pytest.mark.parametrize(
    "rows",
    [
        [[1.0, 2.0], [3.0, 4.5]],  # the fast path
        [[1.0, INF], [3.0, 4.5]],  # one non-finite entry anywhere
        [[1.0, 2.0], [NAN, -INF]],
        [[1.0, 2.0], [3, 4.0]],  # an int among the floats
        [[1.0, 2.0], []],  # a ragged, empty row
        [[], []],
        [[1.0], [2.0, [3.0]]],  # deeper nesting
        [[True, 1.0]],  # bool is not float
    ],
)
def test_rows_of_numbers_encode_as_element_by_element(rows) -> None:
    assert jsonable(rows) == _slow(rows)
    assert json.loads(json_bytes(rows)) == _slow(rows)


def test_json_bytes_reads_back_as_jsonable_wrote_it() -> None:
    value = {
        "tensor": torch.tensor([[0.1, -INF], [1e-300, 5e-324]], dtype=torch.float64),
        "array": np.array([1.5, NAN]),
        "scalar": np.float32(0.25),
        "int": np.int64(7),
        "expr": sympy.Symbol("w") ** 2,
        "nested": [{"a": (1, 2.5, None, "x")}],
        "race": race(gallery("rosenbrock"), [-1.5, 2.0], [Runner("gd", {"lr": 0.01})], steps=30),
    }
    plain = jsonable(value)
    assert json.loads(json_bytes(value)) == plain == json.loads(dumps(value))
    assert plain["tensor"] == [[0.1, "-Infinity"], [1e-300, 5e-324]]
    assert plain["race"]["runs"][0]["diagnosis"]["status"] == "diverged"  # lr 0.01 > 2/λmax on Rosenbrock
