"""Helpers for hidden tests: comparisons whose failure message is plain words for students."""
from __future__ import annotations

import base64
import contextlib
import copy
import functools
import math
import random
import sys
from typing import Any, Callable, Iterator

import numpy as np


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size > 8:
            return f"an array of shape {tuple(value.shape)}"
        return np.array2string(value, precision=6)
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _index(where: Any) -> str:
    return "[" + ", ".join(str(int(i)) for i in where) + "]"


def _array_differences(a: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> str:
    """For arrays too large to print: how many entries differ, the first few of them and the
    largest difference, with values."""
    with np.errstate(invalid="ignore"):
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        gap = np.where(close, 0.0, np.abs(a - e))
    gap = np.where(np.isnan(gap), np.inf, gap)  # a NaN where a number was expected is the worst
    bad = np.argwhere(~close)
    first = "; ".join(f"at {_index(i)} expected {_short(float(e[tuple(i)]))}, got {_short(float(a[tuple(i)]))}"
                      for i in bad[:3])
    worst = np.unravel_index(int(np.argmax(gap)), a.shape)
    largest = (f"largest difference {_short(float(gap[worst]))} at" if np.isfinite(gap[worst])
               else "a value that is not a number at")
    return (f"the array of shape {tuple(a.shape)} differs at {len(bad)} of {a.size} entries: {first}"
            f"{'; ...' if len(bad) > 3 else ''}; {largest} {_index(worst)} "
            f"(expected {_short(float(e[worst]))}, got {_short(float(a[worst]))})")


def _mismatch(actual: Any, expected: Any, rtol: float, atol: float, path: str) -> str | None:
    """Why ``actual`` differs from ``expected`` (None when close enough)."""
    if isinstance(expected, (list, tuple)) and not isinstance(actual, np.ndarray):
        if not isinstance(actual, (list, tuple)):
            return f"{path}expected a list of {len(expected)} values, got {_short(actual)}"
        if len(actual) != len(expected):
            return f"{path}expected {len(expected)} values, got {len(actual)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            why = _mismatch(a, e, rtol, atol, f"{path}[{i}] ")
            if why:
                return why
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}expected a dict, got {_short(actual)}"
        missing = [k for k in expected if k not in actual]
        if missing:
            return f"{path}missing key {missing[0]!r}"
        for k in expected:
            why = _mismatch(actual[k], expected[k], rtol, atol, f"{path}[{k!r}] ")
            if why:
                return why
        return None
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        try:
            a = np.asarray(actual, dtype=float)
            e = np.asarray(expected, dtype=float)
        except (TypeError, ValueError):
            return f"{path}expected numbers, got {_short(actual)}"
        if a.shape != e.shape:
            return f"{path}expected shape {tuple(e.shape)}, got shape {tuple(a.shape)}"
        if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
            if a.size <= 8:
                worst = np.unravel_index(np.argmax(np.abs(a - e)), a.shape) if a.size else ()
                return (f"{path}expected {_short(e)}, got {_short(a)}"
                        + (f" (largest difference at index {_index(worst)})" if a.ndim else ""))
            return f"{path}{_array_differences(a, e, rtol, atol)}"
        return None
    if isinstance(expected, bool) or isinstance(expected, str) or expected is None:
        return None if actual == expected and type(actual) is type(expected) else \
            f"{path}expected {_short(expected)}, got {_short(actual)}"
    if isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return f"{path}expected the number {_short(expected)}, got {_short(actual)}"
        if math.isnan(expected) and math.isnan(actual):
            return None
        if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
            return f"{path}expected {_short(expected)}, got {_short(actual)}"
        return None
    return None if actual == expected else f"{path}expected {_short(expected)}, got {_short(actual)}"


def is_close(actual: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-6) -> bool:
    """Whether ``actual`` agrees with ``expected`` as :func:`assert_close` judges it."""
    return _mismatch(actual, expected, rtol, atol, "") is None


def assert_close(actual: Any, expected: Any, what: str, rtol: float = 1e-6,
                 atol: float = 1e-6) -> None:
    """Raise ``AssertionError("{what}: expected X, got Y")`` unless the values agree.

    Works on numbers, strings, nested lists/dicts and NumPy arrays (shapes must match).
    """
    why = _mismatch(actual, expected, rtol, atol, "")
    if why is not None:
        raise AssertionError(f"{what}: {why}")


# The probe of notebook_value: the value, or None where the name is missing, the expression
# raises or its value is not plain data (which the kernel could not send).
_NOTEBOOK_VALUE = """
def _plain(_x, _depth=0):
    if _depth > 40:
        return False
    if _x is None or isinstance(_x, (bool, int, float, str)):
        return True
    if isinstance(_x, (list, tuple)):
        return all(_plain(_y, _depth + 1) for _y in _x)
    if isinstance(_x, dict):
        return all(isinstance(_k, str) and _plain(_y, _depth + 1) for _k, _y in _x.items())
    return (type(_x).__module__.split(".")[0] in ("numpy", "torch") and hasattr(_x, "shape")
            and getattr(getattr(_x, "dtype", None), "hasobject", False) is False)
try:
    _r = (lambda _v: {of})(globals()[{name!r}]) if {name!r} in globals() else None
except Exception:
    _r = None
_r if _plain(_r) else None
"""


def notebook_value(student: Any, name: str, of: str = "_v", timeout: float | None = None) -> Any:
    """The notebook's own global ``name`` as the kernel has it after the notebook ran, through
    ``of`` (an expression of ``_v``, the value: ``"[_v, str(_v.dtype)]"``), as plain data; None
    where the notebook has no such name, or ``of`` raised or gave what cannot be sent (a probe
    past ``timeout``, default the exercise's, raises as any probe does).

    For a shortcut, never for a grade: where a locked cell computed what a test would compute
    again (``coords = detect_corners(grayscale)`` on the course's picture) and the result is the
    expected one, the test need not ask the student's code once more; where it is not, the test
    computes it on its own inputs, so a student is graded on their functions, not their globals."""
    return student.eval(_NOTEBOOK_VALUE.replace("{of}", of).replace("{name!r}", repr(name)), timeout)


def array_src(array: Any) -> str:
    """Probe source: an expression that rebuilds ``array`` in the kernel exactly (values, dtype,
    shape; a new, writable, C-ordered NumPy array) from its bytes.

    Use it instead of spelling the values out (``np.array([[0.25, ...]])``): the kernel parses a
    probe's source before running it, and a picture of 100 x 100 floats as a literal took 0.1-0.2 s
    to parse and compile, against well under a millisecond for its bytes as one base64 string.
    The expression needs nothing from the notebook's namespace (not even ``np``)."""
    a = np.asarray(array)
    if a.dtype.hasobject or a.dtype.fields is not None:
        raise TypeError(f"array_src: an array of {a.dtype} cannot travel as bytes")
    a = np.asarray(a, dtype=a.dtype.newbyteorder("="), order="C")  # (ascontiguousarray: 0-d -> 1-d)
    payload = base64.b64encode(a.tobytes()).decode("ascii")
    return (f"__import__('numpy').frombuffer(__import__('base64').b64decode({payload!r}), "
            f"dtype={a.dtype.str!r}).reshape({tuple(a.shape)!r}).copy()")


def tensor_src(array: Any, dtype: str, requires_grad: bool = False) -> str:
    """Probe source for a PyTorch tensor of ``dtype`` (``"float64"``, ``"long"``, ...) holding
    ``array``'s values: the same tensor as ``torch.tensor(array.tolist(), dtype=...)`` (a leaf
    that requires gradients if asked), built from the bytes of :func:`array_src`."""
    grad = ", requires_grad=True" if requires_grad else ""
    return f"__import__('torch').tensor({array_src(array)}, dtype=__import__('torch').{dtype}{grad})"


_REMEMBERED: dict[tuple, Any] = {}
_PLAIN = frozenset({str, int, float, bool, complex, bytes, type(None)})  # their repr tells every value apart


def _key(value: Any) -> Any:
    """A cache key that tells every argument apart: ``repr`` shortens arrays of over 1000
    entries with '...', so two different large arrays had the same key (found by week05's
    author); an array is keyed by its type, shape and bytes' digest instead."""
    if isinstance(value, np.ndarray):
        import hashlib
        data = np.ascontiguousarray(value)
        payload = data.tobytes() if data.dtype != object else repr(data.tolist()).encode()
        return ("ndarray", str(data.dtype), data.shape, hashlib.sha256(payload).hexdigest())
    if isinstance(value, (list, tuple)):
        if all(type(v) in _PLAIN for v in value):  # (the names data: 32,000 strings)
            import hashlib
            return (type(value).__name__, hashlib.sha256(repr(value).encode()).hexdigest())
        return (type(value).__name__, tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((_key(k), _key(v)) for k, v in value.items()))
    if type(value).__module__ == "torch" and hasattr(value, "numpy"):
        return ("tensor", _key(value.detach().cpu().numpy()))
    return repr(value)


def _code_identity(code: Any) -> tuple:
    """What a function's code does, the same each time its module is imported: its bytecode,
    the names it uses and its constants, with nested code (a lambda, a comprehension, an inner
    function) taken apart the same way. A nested code object's ``repr`` holds its address, so
    keying on ``repr(co_consts)`` made every import a new key: a remembered helper with a
    lambda or comprehension in it was never found again (week 04's numerical gradients, 7 of
    them, were computed afresh for each submission)."""
    consts = tuple(_code_identity(c) if isinstance(c, type(code)) else (type(c).__name__, repr(c))
                   for c in code.co_consts)
    return (code.co_name, code.co_code, code.co_names, code.co_varnames, code.co_freevars, consts)


@contextlib.contextmanager
def _generators_kept() -> Iterator[None]:
    """Put the process's global generators (``random``, NumPy's, PyTorch's CPU one where it is
    loaded) back as they were: a remembered helper that draws from them, or builds an
    ``nn.Linear`` (whose initial weights do), must not move them only when it is computed."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    torch_random = getattr(sys.modules.get("torch"), "random", None)
    torch_state = torch_random.get_rng_state() if torch_random is not None else None
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
        if torch_random is not None:
            torch_random.set_rng_state(torch_state)


def remember(function: Callable) -> Callable:
    """For hidden-test helpers whose result depends on their arguments alone (a PyTorch oracle,
    generated data): compute it once per grader process and reuse it for every submission.

    The suite is imported afresh for each submission, so an ordinary cache would not last; this
    one lives here, keyed by the helper's code and its arguments (a changed helper is a new
    key). Each caller gets its own deep copy, so a test cannot change the value for the next
    student. Only use it for plain data that does not depend on the student, and on helpers
    defined at the top of a test module (a nested function's closure is not part of the key).
    """
    if function.__closure__:
        raise TypeError(f"remember: {function.__qualname__} uses variables of an enclosing function; "
                        "define it at the top of the test module and pass them as arguments")
    identity = (function.__code__.co_filename, function.__qualname__, _code_identity(function.__code__),
                repr(function.__defaults__), repr(function.__kwdefaults__))

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (identity, _key(args), _key(sorted(kwargs.items())))
        if key not in _REMEMBERED:
            if len(_REMEMBERED) >= 20_000:
                _REMEMBERED.clear()
            with _generators_kept():  # computed or found, the test's later draws are the same
                _REMEMBERED[key] = function(*args, **kwargs)
        return copy.deepcopy(_REMEMBERED[key])

    return wrapper


def with_fakes(function: str, fakes: dict[str, str], as_name: str | None = None) -> str:
    """Probe code that binds ``as_name`` (default ``_<function>``) to the student's ``function``
    running with *fakes* in place of other graded functions it calls.

    ``fakes`` maps a global name the function may call (``"bigram_loss"``) to the name of a fake
    the probe code defines before this (``"_fake_loss"``). This grades a function on its own
    (a bug in a helper costs its points once) without the trust-boundary breach of sending a
    correct helper into the student's kernel (DESIGN.md section 4): a fake is a stand-in the
    test defines that behaves *differently* from the answer (a recording spy, a lookup of data
    the grader computed, another function with the same signature), and the test computes what
    the function should do with the same fakes. A student who inlines the helper's work instead
    of calling it gets the true behaviour: tests accept that as well.

    A class (``Classifier`` whose ``forward`` calls ``Sigmoid``) becomes a subclass of the
    student's class, with the same name, whose methods run with the fakes: plain functions,
    static and class methods, its own and those it inherits from the student's other classes.
    They keep their closures, so ``super()`` (a ``__class__`` cell naming the student's class)
    still works on the subclass's objects, though the method it reaches in a base class runs
    without the fakes. Make the objects from ``as_name`` (``_Classifier(3)``):
    ``__init__`` runs with the fakes too, so a helper object it keeps (``self.act = Sigmoid()``)
    is a fake; a helper bound in the class body itself is not rebound.

    Only plain Python functions and classes are rebound; a callable of another kind is used as
    it is.
    """
    target = as_name or f"_{function}"
    pairs = ", ".join(f"{name}={fake}" for name, fake in fakes.items())
    return (f"import types as _types\n"
            f"{target} = {function}\n"
            f"if isinstance({function}, _types.FunctionType):\n"
            f"    _space = dict({function}.__globals__, {pairs})\n"
            f"    globals().setdefault('_FAKE_SPACES', []).append(_space)\n"
            f"    {target} = _types.FunctionType({function}.__code__, _space,\n"
            f"                                   {function}.__name__, {function}.__defaults__, {function}.__closure__)\n"
            f"    {target}.__kwdefaults__ = {function}.__kwdefaults__\n"
            f"elif isinstance({function}, type):\n"
            f"{_WITH_FAKES_CLASS}"
            f"    {target} = _with_fakes_class({function}, dict({pairs}))\n")


META_DEVICE = ("on PyTorch's 'meta' device (tensors with shapes and no data), which stands in for a GPU "
               "in this test")


def on_meta_device(*functions: str) -> str:
    """Probe code that defines ``_meta_try(thunk)`` and binds ``_<name>`` to each named
    function or class of the student's (the same object; the name keeps tests readable).

    ``_meta_try(lambda: _Net(...).to("meta")(torch.empty(..., device="meta")))`` runs the thunk
    on PyTorch's ``meta`` device, which holds tensors with shapes and no data: a model moved
    there and given a batch there runs every shape computation and no arithmetic. A tensor the
    student's code makes without a device (``torch.zeros(...)`` for an initial state,
    ``torch.arange(T)`` for positions, ``torch.randn(...)`` for noise, a mask kept as a plain
    attribute instead of a registered buffer) is on the CPU, and using it with the meta tensors
    fails as it would on a GPU. While the thunk runs:

    - the notebook's ``DEVICE`` is the meta device (in the notebook's namespace and in those of
      :func:`with_fakes`, put back afterwards), so ``device=DEVICE`` is accepted like
      ``device=x.device``;
    - a GPU's rules hold where the meta device is lenient: it lets an embedding look up CPU
      indices, a product take a CPU matrix, and a draw on the device use a CPU generator, which
      a GPU refuses; those raise here too (a CPU tensor of no dimensions, a scalar, may still
      mix, as on a GPU);
    - a copy from the meta device to the CPU (``.cpu()``, ``.to("cpu")``), which has no numbers
      to copy, gives placeholder numbers (ones; zeros for integers), so code that samples on the
      CPU and moves the sample back runs, and code that forgets to move it back fails.

    It returns plain data for :func:`assert_on_meta`: ``["ok", devices]`` (the devices of the
    tensors in the result), ``["device", message]`` when the code mixed devices, or
    ``["unsupported", message]`` when it did something the meta device cannot do (``.item()``,
    a branch on a value): not a device error, so not held against the student.
    """
    return _META_TRY + "".join(f"_{function} = {function}\n" for function in functions)


# probe code: run a thunk on the meta device with a GPU's rules and say what happened, as plain data
_META_TRY = """\
import torch as _torch
from torch.overrides import TorchFunctionMode as _TorchFunctionMode
_META = _torch.device("meta")


class _GpuRules(_TorchFunctionMode):
    mixing = {_torch.nn.functional.embedding, _torch.nn.functional.linear, _torch.matmul, _torch.mm, _torch.bmm,
              _torch.einsum, _torch.baddbmm, _torch.index_select, _torch.gather, _torch.Tensor.matmul,
              _torch.Tensor.__matmul__, _torch.Tensor.__rmatmul__, _torch.Tensor.mm, _torch.Tensor.bmm,
              _torch.Tensor.index_select, _torch.Tensor.gather, _torch.Tensor.scatter, _torch.Tensor.scatter_}
    draws = {_torch.multinomial, _torch.Tensor.multinomial}
    copies = {_torch.Tensor.cpu, _torch.Tensor.to}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.mixing:
            devices = set()
            for arg in list(args) + list(kwargs.values()):
                for v in (arg if isinstance(arg, (list, tuple)) else [arg]):
                    if isinstance(v, _torch.Tensor) and (v.dim() > 0 or v.device.type != "cpu"):
                        devices.add(v.device.type)
            if len(devices) > 1:
                raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                                   f"{' and '.join(sorted(devices))} (in {getattr(func, '__name__', func)})")
        generator = kwargs.get("generator")
        if func in self.draws and generator is not None and generator.device.type != args[0].device.type:
            raise RuntimeError(f"Expected a '{args[0].device.type}' device type for generator but found "
                               f"'{generator.device.type}' (a draw on the device with a generator on the CPU)")
        if func in self.copies and isinstance(args[0], _torch.Tensor) and args[0].is_meta:
            try:
                return func(*args, **kwargs)
            except NotImplementedError:
                t = args[0]
                fill = _torch.ones if t.is_floating_point() else _torch.zeros
                return func(fill(t.shape, dtype=t.dtype), *args[1:], **kwargs)
        return func(*args, **kwargs)


def _meta_try(_thunk):
    _shell = __import__("IPython").get_ipython()   # the notebook's own namespace (the probe runs in a copy)
    _spaces = [_shell.user_ns if _shell is not None else globals()] + globals().get("_FAKE_SPACES", [])
    _saved = [(_s, "DEVICE" in _s, _s.get("DEVICE")) for _s in _spaces]
    for _s in _spaces:
        _s["DEVICE"] = _META
    try:
        with _GpuRules():
            _result = _thunk()
    except Exception as _e:
        _text = f"{type(_e).__name__}: {_e}"[:300]
        return ["device" if "device" in str(_e).lower() else "unsupported", _text]
    finally:
        for _s, _had, _old in _saved:
            if _had:
                _s["DEVICE"] = _old
            else:
                _s.pop("DEVICE", None)
    _devices, _todo = [], [_result]
    while _todo and len(_devices) < 50:
        _v = _todo.pop()
        if isinstance(_v, _torch.Tensor):
            _devices.append(str(_v.device))
        elif isinstance(_v, (list, tuple)):
            _todo.extend(_v)
        elif isinstance(_v, dict):
            _todo.extend(_v.values())
    return ["ok", sorted(set(_devices))]
"""


def assert_on_meta(answer: Any, what: str, hint: str, returns_on_cpu: bool = False) -> None:
    """Fail when a probe's ``_meta_try`` run mixed devices or returned tensors that are not on
    the meta device; ``what`` says what was called (on the meta device), ``hint`` how to fix it.
    An operation the meta device does not support is not a device error: that passes.
    ``returns_on_cpu``: the function hands its result back on the CPU (pictures to plot), so
    tensors there are fine as well."""
    outcome, detail = answer
    if outcome == "device":
        detail = detail.rstrip(".!")
        raise AssertionError(f"{what}, {META_DEVICE}, raised {detail}. Hint: {hint}")
    allowed = ("meta", "cpu") if returns_on_cpu else ("meta",)
    if outcome == "ok" and any(device not in allowed for device in detail):
        raise AssertionError(f"{what}, {META_DEVICE}, returned tensors on {', '.join(detail)} instead of the "
                             f"device it was given. Hint: {hint}")


# probe code (indented to sit in the `elif` above): a subclass whose methods run with the fakes
_WITH_FAKES_CLASS = """\
    def _with_fakes_class(cls, fakes):
        members, seen, spaces = {}, set(), {}
        for klass in cls.__mro__[:-1]:
            for name, value in vars(klass).items():
                if name in seen:
                    continue
                seen.add(name)
                inner = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                if not isinstance(inner, _types.FunctionType):
                    continue
                if id(inner.__globals__) not in spaces:
                    spaces[id(inner.__globals__)] = dict(inner.__globals__, **fakes)
                    globals().setdefault("_FAKE_SPACES", []).append(spaces[id(inner.__globals__)])
                space = spaces[id(inner.__globals__)]
                copy = _types.FunctionType(inner.__code__, space, inner.__name__, inner.__defaults__, inner.__closure__)
                copy.__kwdefaults__, copy.__qualname__ = inner.__kwdefaults__, inner.__qualname__
                members[name] = copy if inner is value else type(value)(copy)
        members.update(__module__=cls.__module__, __qualname__=cls.__qualname__)
        return _types.new_class(cls.__name__, (cls,), None, lambda namespace: namespace.update(members))
"""
