"""What crosses from a kernel to the grader: plain data, never pickle (kernels.probe), and
the messages grader.testing writes."""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from grader.kernels.probe import ProbeError, StudentError, decode_reply
from grader.testing import assert_close



# ----------------------------------------------------------------------------- probes

def _npy(array) -> str:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return base64.b64encode(buf.getvalue()).decode()


def test_decode_reply_plain_data_and_arrays():
    text = json.dumps({"ok": True, "value": {"a": [1, 2.5, None, True], "x": {"__ndarray__": _npy(np.eye(2))}}})
    value = decode_reply(text)
    assert value["a"] == [1, 2.5, None, True]
    np.testing.assert_array_equal(value["x"], np.eye(2))
    assert decode_reply('{"ok": true, "value": NaN}') != decode_reply('{"ok": true, "value": NaN}')


def test_decode_reply_finds_arrays_at_any_depth_and_nothing_else():
    arr = {"__ndarray__": _npy(np.arange(3))}
    value = decode_reply(json.dumps({"ok": True, "value": [[arr, {"k": [arr]}], {"__ndarray__": _npy(np.eye(2)), "x": 1},
                                                           {"__ndarray__": 5}, ["a"] * 3]}))
    np.testing.assert_array_equal(value[0][0], np.arange(3))
    np.testing.assert_array_equal(value[0][1]["k"][0], np.arange(3))
    assert isinstance(value[1], dict) and isinstance(value[2], dict) and value[3] == ["a", "a", "a"]
    with pytest.raises(ProbeError, match="unreadable array"):
        decode_reply('{"ok": true, "value": [{"__ndarray__": "not base64!"}]}')
    with pytest.raises(ProbeError, match="not valid JSON"):
        decode_reply('{"ok": true, "value": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_decode_reply_never_unpickles():
    text = json.dumps({"ok": True, "value": {"__ndarray__": _npy(np.array([object()], dtype=object))}})
    with pytest.raises(ProbeError, match="unreadable array"):
        decode_reply(text)


@pytest.mark.parametrize("text", ["not json", "[]", '{"value": 1}', "x" * (65 * 1024 * 1024)])
def test_decode_reply_rejects_malformed(text):
    with pytest.raises(ProbeError):
        decode_reply(text)


def test_decode_reply_student_error_message():
    with pytest.raises(StudentError) as info:
        decode_reply(json.dumps({"ok": False, "ename": "ZeroDivisionError", "evalue": "division by zero",
                                 "where": "Value.__truediv__"}))
    assert str(info.value) == "ZeroDivisionError in Value.__truediv__: division by zero"


def test_assert_close_messages():
    assert_close([1.0, [2.0]], [1.0, [2.0 + 1e-9]], "ok")
    with pytest.raises(AssertionError, match=r"^grad of a: \[1\] expected 3, got 2$"):
        assert_close([1, 2], [1, 3], "grad of a")
    with pytest.raises(AssertionError, match="expected shape \\(2,\\), got shape \\(3,\\)"):
        assert_close(np.zeros(3), np.zeros(2), "logits")
    with pytest.raises(AssertionError, match="expected the number 1, got 'a'"):
        assert_close("a", 1, "x")


def test_assert_close_large_arrays_show_values():
    expected = np.arange(729.0).reshape(27, 27)
    actual = expected.copy()
    actual[0, 1] += 0.5
    actual[5, 5] = 99.0
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, "counts")
    message = str(info.value)
    assert "differs at 2 of 729 entries" in message
    assert "at [0, 1] expected 1, got 1.5" in message
    assert "largest difference 41 at [5, 5] (expected 140, got 99)" in message
    actual[2, 2] = np.nan
    with pytest.raises(AssertionError, match=r"not a number at \[2, 2\]"):
        assert_close(actual, expected, "counts")


# ------------------------------------------------------------------ what crosses the other way

ARRAYS = [np.arange(12.0).reshape(3, 4), np.float32([[1.5, np.nan, -np.inf]]), np.array(3, dtype=np.int16),
          np.zeros((0, 3), bool), np.asfortranarray(np.random.default_rng(0).random((3, 2))),
          np.array([1, 2], dtype=">i4"), np.random.default_rng(1).random((4, 4))[::2, ::-1],
          np.uint8([[0, 255], [7, 9]])]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_array_src_rebuilds_the_array_exactly(array):
    from grader.testing import array_src
    src = array_src(array)
    rebuilt = eval(src, {"__builtins__": __builtins__})  # needs no name of the notebook's
    assert rebuilt.shape == array.shape and rebuilt.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(rebuilt, array)
    assert rebuilt.flags.writeable and rebuilt.flags.c_contiguous
    assert len(src) < 200 + 2 * array.nbytes  # bytes, not a literal per value


@pytest.mark.parametrize("array", ARRAYS[:3] + ARRAYS[4:], ids=lambda a: f"{a.dtype}{a.shape}")
def test_tensor_src_is_the_tensor_of_the_values(array):
    torch = pytest.importorskip("torch")
    from grader.testing import tensor_src
    for dtype in ("float64", "float32", "long", "bool"):
        if dtype == "long" and not np.isfinite(array).all():
            continue
        got = eval(tensor_src(array, dtype), {"__builtins__": __builtins__})
        want = torch.tensor(array.tolist(), dtype=getattr(torch, dtype))
        assert got.dtype == want.dtype and got.shape == want.shape
        assert torch.equal(got.double().nan_to_num(7.0), want.double().nan_to_num(7.0))


def test_array_src_refuses_objects():
    from grader.testing import array_src
    with pytest.raises(TypeError, match="cannot travel"):
        array_src(np.array([object()], dtype=object))
