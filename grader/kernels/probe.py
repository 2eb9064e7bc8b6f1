"""Probes: how a hidden test asks a kernel a question and gets plain data back.

The grader sends a small, self-contained piece of Python to the kernel. It runs the probe code
in a *copy* of the notebook's globals (so probes cannot disturb each other or the notebook),
with Python's, NumPy's and torch's random generators seeded, and hands the value of the final
expression back as JSON text under a private MIME type, in the reply to the request. NumPy
arrays (and tensors, converted to NumPy) travel as base64 ``.npy`` bytes and are loaded here with
``allow_pickle=False``.
Nothing from the kernel is ever unpickled or executed in the grader: the trust boundary of
DESIGN.md section 4.
"""
from __future__ import annotations

import ast
import base64
import functools
import io
import json
import marshal
import re
import struct
from typing import Any

import numpy as np

MIME = "application/x-grader-probe+json"
MAX_REPLY_BYTES = 64 * 1024 * 1024


class ProbeError(Exception):
    """A probe could not produce a value (base class)."""


class StudentError(ProbeError):
    """The student's code raised while answering a probe. ``str()`` is a plain message."""

    def __init__(self, ename: str, evalue: str, where: str | None = None):
        self.ename, self.evalue, self.where = ename, evalue, where
        location = f" in {where}" if where else ""
        detail = f": {evalue}" if evalue else ""
        super().__init__(f"{ename}{location}{detail}")


class ProbeTimeout(ProbeError):
    def __init__(self, seconds: float, budget: float | None = None):
        self.seconds, self.budget = seconds, budget
        if budget is not None:
            super().__init__(f"not run: the tests used up their time budget of {budget:g} s "
                             "(earlier tests ran too long)")
        else:
            super().__init__(f"your code ran longer than {seconds:g} s while answering this test "
                             "(stopped)")


class KernelDied(ProbeError):
    def __init__(self, reason: str = "the notebook's kernel is no longer running"):
        super().__init__(reason)


# Runs inside the kernel: defines one function, ``__grader_probe__(src, seed)``, the only
# name the grader adds to the notebook's namespace (probes run in a copy without it). Sent once
# per kernel, after the notebook has run; each probe is then a one-line call, sent silently,
# whose answer the grader reads from the request's reply (the user expression REPLY, formatted
# by IPython under the private MIME type) rather than from a display message: no execute_input
# and no display_data on IOPub (a tenth of a trivial probe's round trip). Kept free of f-string
# braces: we substitute with str.replace.
HELPER_NAME = "__grader_probe__"
REPLY = "__grader_reply__"
# The probe channel. Each probe sent as a request of its own costs about 3.5 ms of ipykernel's
# messaging (a request on the shell channel, the kernel's busy and idle status, the reply), where
# the probe's own work in the kernel is a tenth of a millisecond, and a submission sends 12-70 of
# them. So once the notebook has run, the grader sends one request that runs ``serve`` (below):
# it connects to a Unix socket the grader listens on in the kernel's folder and answers probes
# through it until the grader closes it. A probe travels as CHANNEL_HEAD (payload length,
# sequence number, seed, flip, kind: 1 compiled, 2 source) and its payload; the answer comes
# back as CHANNEL_REPLY (length, the probe's sequence number) and the helper's JSON text, the
# same text, decoded by the same code, as a reply's. The grader listens and the kernel connects,
# never the other way round: the grader never opens a path the kernel could have put there.
CHANNEL_HEAD = struct.Struct("!IQqBB")
CHANNEL_REPLY = struct.Struct("!IQ")
_KERNEL_HELPER = r'''
def __grader_probe__(_src, _seed, _flip=False, _code=None, _framed=0, _reply=type("GraderProbeReply", (), {
        "text": None, "__repr__": lambda self: "",
        "_repr_mimebundle_": lambda self, include=None, exclude=None: {} if self.text is None else {__MIME__: self.text}})()):
    _reply.text = None  # a probe that never gets to its end answers nothing, not the last probe's answer
    import ast as _ast, base64 as _b64, builtins as _builtins, io as _io, json as _json, marshal as _marshal, random as _random, sys as _sys

    def _enc(v, depth=0):
        if depth > 50:
            raise TypeError("the value is nested too deeply")
        if v is None or type(v) in (bool, str):
            return v
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return int.__index__(v)
        if isinstance(v, float):
            return float.__float__(v)
        if isinstance(v, str):
            return str.__str__(v)
        np = _sys.modules.get("numpy")
        torch = _sys.modules.get("torch")
        if torch is not None and isinstance(v, torch.Tensor):
            v = v.detach().to("cpu").numpy()
        if np is not None and isinstance(v, np.generic):
            return _enc(v.item(), depth + 1)
        if np is not None and isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise TypeError("an array of Python objects cannot be sent to the grader")
            buf = _io.BytesIO()
            np.save(buf, np.asarray(v), allow_pickle=False)  # (0-d arrays stay 0-d)
            return {"__ndarray__": _b64.b64encode(buf.getvalue()).decode("ascii")}
        if isinstance(v, (list, tuple)):
            return [_enc(x, depth + 1) for x in v]
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if not isinstance(k, str):
                    raise TypeError("dictionary keys must be strings")
                out[str.__str__(k)] = _enc(x, depth + 1)
            return out
        raise TypeError("a " + type(v).__name__ + " cannot be sent to the grader "
                        "(expected numbers, strings, lists, dicts or arrays)")

    _ns = dict(globals())
    _ns.pop("__grader_probe__", None)
    _order = getattr(_builtins.__build_class__, "grader_order", None) or {}
    _was, _counted = _order.get("flip", False), _order.get("count", 0)
    if _order:
        _order["flip"] = bool(_flip)
    _random.seed(_seed)
    if "numpy" in _sys.modules:
        _sys.modules["numpy"].random.seed(_seed)
    if "torch" in _sys.modules:
        # torch keeps the caller's formatted stack for the CUDA seed it defers until CUDA starts
        # (for an error message): about 1 ms a probe at a kernel's stack depth, for nothing
        import traceback as _traceback
        _format_stack, _traceback.format_stack = _traceback.format_stack, lambda *a, **k: []
        try:
            _sys.modules["torch"].manual_seed(_seed)
        finally:
            _traceback.format_stack = _format_stack
    if _framed in (1, 2):  # the probe came as the request's binary frame: 1 compiled, 2 source (UTF-8)
        try:
            _shell = _sys.modules["IPython"].get_ipython()
            _frame = bytes(memoryview(_shell.kernel.get_parent("shell")["buffers"][0]))
        except Exception:
            _reply.text = _json.dumps({"hashed": 0, "ok": False, "ename": "GraderNoFrame",
                                       "evalue": "this kernel does not keep a request's frames", "where": None})
            return
        if _framed == 1:
            _code = _frame
        else:
            _src = _frame.decode("utf-8")
    try:
        if _code is not None:  # compiled by the grader (the same Python): no parsing here
            _body, _last = _marshal.loads(_code if _framed else _b64.b64decode(_code))
        else:
            _tree = _ast.parse(_src, "<probe>", "exec")
            _last = None
            if _tree.body and isinstance(_tree.body[-1], _ast.Expr):
                _last = compile(_ast.Expression(_tree.body.pop().value), "<probe>", "eval")
            _body = compile(_tree, "<probe>", "exec")
        exec(_body, _ns)
        _value = eval(_last, _ns) if _last is not None else None
        try:
            _out = {"ok": True, "value": _enc(_value)}
        except (TypeError, ValueError) as _e:
            _out = {"ok": False, "ename": "UnsupportedValue", "evalue": str(_e), "where": None}
    except Exception as _e:
        _where = None
        _t = _e.__traceback__
        while _t is not None:
            _code = _t.tb_frame.f_code
            if _code.co_filename != "<probe>" and _code.co_name != "__grader_probe__":
                _where = getattr(_code, "co_qualname", _code.co_name)
            _t = _t.tb_next
        try:
            _msg = str(_e)
        except Exception:
            _msg = ""
        _out = {"ok": False, "ename": type(_e).__name__, "evalue": _msg[:500], "where": _where}
    finally:
        if _order:
            _order["flip"] = _was
    # first, so the grader reads it without parsing the value: objects of notebook classes
    # first hashed by this probe (0: set order cannot have mattered)
    _out = {"hashed": _order.get("count", 0) - _counted, **_out}
    _reply.text = _json.dumps(_out, allow_nan=True)


# the reply is read from a built-in name: a probe that deletes the helper's name leaves it in
# place, and it needs no other name (a notebook may have set ``__import__ = None``)
import builtins as _grader_builtins
_grader_builtins.__grader_reply__ = __grader_probe__.__defaults__[-1]
del _grader_builtins


def _grader_serve(_path, _probe=__grader_probe__, _reply=__grader_probe__.__defaults__[-1]):
    """The probe channel (see CHANNEL_HEAD): connect to the grader's socket and answer the
    probes that come through it, one after the other, until the grader closes it. Each probe
    fires IPython's pre_execute and post_execute events as a request of its own does (the
    inline backend shows and closes the figures a probe drew, a warning is shown again...)."""
    import socket as _socket, struct as _struct, sys as _sys
    try:
        _events = _sys.modules["IPython"].get_ipython().events
    except Exception:
        _events = None
    _conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    _read = _conn.makefile("rb")
    try:
        _conn.connect(_path)
        while True:
            _head = _read.read(__HEAD_SIZE__)
            if len(_head) < __HEAD_SIZE__:
                return
            _n, _seq, _seed, _flip, _kind = _struct.unpack(__HEAD__, _head)
            _data = _read.read(_n)
            if len(_data) < _n:
                return
            if _events is not None:
                _events.trigger("pre_execute")
            try:
                _probe(_data.decode("utf-8") if _kind == 2 else None, _seed, bool(_flip), _data if _kind == 1 else None, 3)
            finally:
                if _events is not None:
                    _events.trigger("post_execute")
            _text = (_reply.text or "").encode("utf-8")
            _conn.sendall(_struct.pack(__REPLY_HEAD__, len(_text), _seq) + _text)
    finally:  # (the stream too: the socket stays open while a file of it is)
        _read.close()
        _conn.close()


__grader_probe__.serve = _grader_serve
del _grader_serve
'''.replace("__MIME__", repr(MIME)).replace("__HEAD_SIZE__", str(CHANNEL_HEAD.size)).replace(
    "__HEAD__", repr(CHANNEL_HEAD.format)).replace("__REPLY_HEAD__", repr(CHANNEL_REPLY.format))


# Runs in every grading kernel as it starts, before the notebook (see grader.kernel).
# Identical notebooks must get identical grades. Objects of classes without a __hash__ of their
# own hash by address, so a set of them (micrograd's ``Value._prev``) is iterated in an order
# that depends on where the allocator put them, which differs from kernel to kernel (thread
# timing, what ran before). Code whose wrong numbers depend on that order (``=`` instead of
# ``+=`` in a backward rule) scored 13 or 14 of 20 at random, in one batch and across runs.
# Here every class the notebook defines (module ``__main__``) gets one more base,
# ``GraderStableHash`` (no slots, no state): its instances are numbered in the order they are
# first hashed, a number that depends only on what the code does. A class with a __hash__ or
# __eq__ of its own keeps it (the base comes last in the MRO); a class with another metaclass,
# or whose bases are not plain classes (Enum, NamedTuple, Generic[...]), is left alone, as is
# an object without weak-reference support (slots without __weakref__). Probes may flip the
# order for objects first hashed while they run (``grader_order["flip"]``): a test that fails
# is run again that way to tell the student when their result depends on it.
STABLE_ORDER = r'''
def _grader_stable_order():
    import builtins
    from weakref import ref as weak_ref
    table, state, object_hash = {}, {"count": 0, "flip": False}, object.__hash__
    known_ref, forget = table.get, table.pop

    class Known(weak_ref):  # the object's number, kept on the weak reference that watches it
        __slots__ = ("key", "value")  # (one small object per hashed object, created in C)

    def gone(ref):  # the object died: its id may be reused by another one
        forget(ref.key, None)

    class GraderStableHash:
        """Added by the grader: objects hash in the order they are first hashed."""
        __slots__ = ()

        def __hash__(self):
            known = known_ref(id(self))
            if known is not None:
                return known.value
            try:
                known = Known(self, gone)
            except TypeError:  # no weak references (slots without __weakref__)
                return object_hash(self)
            state["count"] = count = state["count"] + 1
            known.key, known.value = id(self), ~count if state["flip"] else count  # ~: the opposite slot order in a set
            table[known.key] = known
            return known.value

    build = builtins.__build_class__

    def build_class(func, name, *bases, **kwargs):
        if (getattr(func, "__globals__", {}).get("__name__") == "__main__" and "metaclass" not in kwargs
                and all(type(b) is type for b in bases)
                and not any(issubclass(b, GraderStableHash) for b in bases)):
            extended = (tuple(GraderStableHash if b is object else b for b in bases)
                        if object in bases else (*bases, GraderStableHash))
            try:
                return build(func, name, *extended, **kwargs)
            except TypeError as exc:
                if not any(w in str(exc) for w in ("MRO", "lay-out", "metaclass", "base")):
                    raise
        return build(func, name, *bases, **kwargs)

    build_class.grader_order = state
    builtins.__build_class__ = build_class


_grader_stable_order()
'''


def helper_code() -> str:
    """Defines the probe helper in a kernel (once, after the notebook ran)."""
    return _KERNEL_HELPER


# the request's binary frame, read in the kernel (the helper reads its probes the same way)
_FRAME = "bytes(get_ipython().kernel.get_parent('shell')['buffers'][0])"


def helper_call(compiled: bool) -> tuple[str, bytes]:
    """The helper's definition as a short request and its binary frame: the helper compiled
    here (``compiled``: the kernel runs the grader's Python) or its source. IPython transforms
    and compiles a request's code before running it, which for the helper's 5 KB took 12 ms of
    every kernel's first probe; compiled it is defined in about 3 ms. The code runs in the
    notebook's namespace, as the source did. Where it fails (a kernel without frames, a
    notebook that removed ``get_ipython``) the caller sends the source as before."""
    if compiled:
        return f"__import__('builtins').exec(__import__('marshal').loads({_FRAME}))", _compiled_helper()
    return f"__import__('builtins').exec({_FRAME}.decode('utf-8'))", _KERNEL_HELPER.encode("utf-8")


@functools.lru_cache(maxsize=1)
def _compiled_helper() -> bytes:
    return marshal.dumps(compile(_KERNEL_HELPER, "<grader>", "exec", dont_inherit=True))


def probe_call(src: str, seed: int, flip: bool = False, compiled: bool = False,
               framed: bool = False) -> tuple[str, bytes | None]:
    """One probe, for a kernel that has the helper (it answers nothing if the notebook's code
    removed the helper meanwhile; the caller then defines it again): the code of the request,
    and the binary frame to send with it (or None). ``flip``: objects first hashed during the
    probe are ordered the opposite way (see STABLE_ORDER). ``compiled``: the kernel runs the
    grader's Python, so the probe travels compiled (:func:`compiled_probe`). ``framed``: the
    probe travels as a binary frame of the request, which the helper reads from the request
    (``kernel.get_parent``), and the request's code is one short call: IPython parses and
    transforms a request's code line by line, which took 0.2 s per MB (a suite that sends 150
    hidden pictures sends 2.5 MB), where a frame costs nothing but the copy."""
    code = compiled_probe(src) if compiled else None
    if framed:
        frame = code if code is not None else src.encode("utf-8")
        return f"{HELPER_NAME}(None, {int(seed)!r}, {bool(flip)!r}, None, {1 if code is not None else 2})", frame
    if code is None:
        return f"{HELPER_NAME}({src!r}, {int(seed)!r}, {bool(flip)!r})", None
    return f"{HELPER_NAME}(None, {int(seed)!r}, {bool(flip)!r}, {base64.b64encode(code).decode('ascii')!r})", None


NO_FRAME = '"ename": "GraderNoFrame"'  # the helper's answer where a kernel drops request frames


@functools.lru_cache(maxsize=256)  # an exercise sends 12-70 distinct probes, a few of 100s of KB
def compiled_probe(src: str) -> bytes | None:
    """The probe's code compiled here, once per grader process (every submission's kernel gets
    the same probes), as ``marshal`` data of (its statements, its last expression or None): the
    kernel loads it instead of parsing and compiling the source, which took about a millisecond
    a probe. Only for kernels that run the grader's own Python (marshal data is specific to a
    Python version): not for containers. None when the source does not compile: the kernel then
    compiles it and reports the error as before. Code goes from the grader to the kernel only,
    as the source did; nothing is unmarshalled in the grader."""
    try:
        tree = ast.parse(src, "<probe>", "exec")
        last = None
        if tree.body and isinstance(final := tree.body[-1], ast.Expr):
            tree.body.pop()
            last = compile(ast.Expression(final.value), "<probe>", "eval", dont_inherit=True)
        body = compile(tree, "<probe>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None
    return marshal.dumps((body, last))


class _UnreadableArray(ProbeError):
    pass


def _array(obj: dict) -> Any:
    """json's object hook: ``{"__ndarray__": base64 of .npy}`` becomes the array (never a pickle);
    every other object stays a dict. Arrays are made while the JSON is parsed, so the answer is
    walked once, in C (a second walk in Python took 20-30 ms for a list of 32,000 names)."""
    if len(obj) == 1 and isinstance(obj.get("__ndarray__"), str):
        try:
            raw = base64.b64decode(obj["__ndarray__"], validate=True)
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, TypeError, EOFError, OSError) as exc:
            raise _UnreadableArray(f"the kernel sent an unreadable array ({exc})") from None
    return obj


_HASHED = re.compile(r'^\{"hashed": (-?\d+)')


def hashed_in(text: str) -> int:
    """How many objects of notebook classes a probe hashed first (see STABLE_ORDER)."""
    match = _HASHED.match(text) if isinstance(text, str) else None
    return int(match.group(1)) if match else 0


def decode_reply(text: str) -> Any:
    """Turn the kernel's JSON text into a value, or raise StudentError. Never unpickles."""
    if not isinstance(text, str) or len(text) > MAX_REPLY_BYTES:
        raise ProbeError("the kernel's answer was too large or malformed")
    try:
        reply = json.loads(text, object_hook=_array)
    except _UnreadableArray as exc:
        raise ProbeError(str(exc)) from None
    except (ValueError, RecursionError):
        raise ProbeError("the kernel's answer was not valid JSON") from None
    if not isinstance(reply, dict) or "ok" not in reply:
        raise ProbeError("the kernel's answer was malformed")
    if reply["ok"] is True:
        return reply.get("value")
    raise StudentError(str(reply.get("ename", "Error"))[:100], str(reply.get("evalue", ""))[:500],
                       str(reply["where"])[:100] if reply.get("where") else None)
