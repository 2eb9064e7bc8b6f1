"""Hidden tests for week02_autograd: a micrograd-style scalar autograd engine.

Total: 22 points over 20 tests.

Every probe runs in the student's kernel (and the same probe in the reference kernel) and
returns plain data only: floats, strings, lists, dicts. The expected gradients are computed
here, in the grader process, with PyTorch in float64, and compared with both answers.
Random inputs (leaf values, random expressions, random graphs, network weights) are drawn from
`grading_seed` with local `random.Random` instances.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
import torch

from grader.testing import assert_close, is_close, remember, with_fakes

XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]
SIZES = [3, 4, 4, 1]  # MLP(3, [4, 4, 1])
N_PARAMS = 41

F64 = torch.float64


# --------------------------------------------------------------------------- helpers
def _program(text: str) -> list[str]:
    """Lines of a small program that leaves its result in `out` (a bare expression becomes `out = ...`)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines[-1].startswith("out ="):
        lines[-1] = f"out = {lines[-1]}"
    return lines


def _describe(text: str, leaves: dict[str, float]) -> str:
    lines = _program(text)
    shown = lines[0][len("out = "):] if len(lines) == 1 else "; ".join(lines)
    values = ", ".join(f"{name} = {value!r}" for name, value in leaves.items())
    return f"`{shown}` with {values}"


def _cases_probe(cases) -> str:
    """Probe code: for each (program, leaves, hint) build fresh leaf Values, run the program,
    call out.backward() and collect [out.data, grad of each leaf] or the error text."""
    code = ["_results = []"]
    for text, leaves, _hint in cases:
        code.append("try:")
        code += [f"    {name} = Value({value!r})" for name, value in leaves.items()]
        code += [f"    {line}" for line in _program(text)]
        code.append("    out.backward()")
        grads = "".join(f", float({name}.grad)" for name in leaves)
        code.append(f"    _results.append([float(out.data){grads}])")
        code.append("except Exception as _error:")
        code.append("    _results.append(f'{type(_error).__name__}: {_error}')")
    code.append("_results")
    return "\n".join(code)


@remember
def _torch_run(text: str, leaves: dict[str, float]):
    """[out, d out/d leaf...] of the same program with PyTorch float64 tensors; also the value
    of every variable of the program."""
    tensors = {name: torch.tensor(value, dtype=F64, requires_grad=True) for name, value in leaves.items()}
    ns = dict(tensors)
    exec("\n".join(_program(text)), {"__builtins__": __builtins__}, ns)
    out = ns["out"]
    out.backward()
    grads = [t.grad.item() if t.grad is not None else 0.0 for t in tensors.values()]
    return [out.item()] + grads, {k: v.item() for k, v in ns.items() if isinstance(v, torch.Tensor)}


def _check_cases(student, reference, cases, labels: list[str] | None = None) -> None:
    """Compare student and reference answers with PyTorch for each (program, leaves, hint);
    `labels` optionally prefixes each case's description in the messages."""
    probe = _cases_probe(cases)
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert isinstance(got, list) and len(got) == len(cases), "the probe did not return one answer per case"
    for i, ((text, leaves, hint), answer, ref_answer) in enumerate(zip(cases, got, ref)):
        where = (labels[i] if labels else "") + _describe(text, leaves)
        hint = f" ({hint})" if hint else ""
        assert not isinstance(answer, str), f"computing {where} and calling backward() raised {answer}{hint}"
        expected, _ = _torch_run(text, leaves)
        assert_close(answer[0], expected[0], f"value of {where}")
        for name, value, want in zip(leaves, answer[1:], expected[1:]):
            assert_close(value, want, f"gradient of {where} with respect to {name}{hint}")
        assert_close(answer, ref_answer, f"value and gradients of {where}, compared with the reference solution")


def _flat(data) -> list:
    """Nested lists and dicts (keys sorted) flattened to one list, for comparing whole answers."""
    if isinstance(data, dict):
        return [v for key in sorted(data) for v in _flat(data[key])]
    if isinstance(data, (list, tuple)):
        return [v for item in data for v in _flat(item)]
    return [data]


def _param_names(sizes=SIZES) -> list[str]:
    """Readable names of MLP parameters, in the order of MLP.parameters()."""
    names = []
    for layer, (nin, nout) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        for neuron in range(1, nout + 1):
            names += [f"layer {layer}, neuron {neuron}, weight {i}" for i in range(1, nin + 1)]
            names.append(f"layer {layer}, neuron {neuron}, bias")
    return names


def _assert_close_each(actual, expected, what: str, names: list[str] | None = None) -> None:
    """Compare two lists of numbers element by element, naming the first element that differs."""
    assert isinstance(actual, list) and len(actual) == len(expected), \
        f"{what}: expected {len(expected)} numbers, got {str(actual)[:200]}"
    for i, (value, want) in enumerate(zip(actual, expected)):
        assert_close(value, want, f"{what}, {names[i] if names else f'element {i}'}")


def _signed(rng: random.Random, lo: float = 0.5, hi: float = 2.0) -> float:
    return round(rng.choice([-1, 1]) * rng.uniform(lo, hi), 3)


def _positive(rng: random.Random, lo: float = 0.5, hi: float = 2.0) -> float:
    return round(rng.uniform(lo, hi), 3)


def _torch_mlp(params: torch.Tensor, x, sizes=SIZES, activation=torch.tanh):
    """The course's MLP with a flat parameter vector in the order of MLP.parameters():
    layer by layer, neuron by neuron, each neuron's weights followed by its bias (and with
    another activation: the MLP of FAKE_NEURON's neurons)."""
    h = x if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=F64)
    i = 0
    for nin, nout in zip(sizes[:-1], sizes[1:]):
        outs = []
        for _ in range(nout):
            w, b = params[i:i + nin], params[i + nin]
            i += nin + 1
            outs.append(activation((w * h).sum() + b))
        h = torch.stack(outs)
    return h[0] if sizes[-1] == 1 else h


def _random_params(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(-1, 1), 6) for _ in range(N_PARAMS)]


def _set_params_code(model: str, params: list[float]) -> str:
    return (
        f"_ps = {model}.parameters()\n"
        f"assert len(_ps) == {len(params)}, f'MLP(3, [4, 4, 1]) should have {len(params)} parameters, got {{len(_ps)}}'\n"
        f"for _p, _v in zip(_ps, {params!r}):\n"
        f"    _p.data = _v\n"
    )


# --------------------------------------------------------------------------- the worked examples
WORKED_GRAPH_PROBE = """
a = Value(2.0); b = Value(-3.0); c = Value(10.0); f = Value(-2.0)
e = a * b
d = e + c
L = d * f
L.backward()
{name: [float(v.data), float(v.grad)] for name, v in
 [("a", a), ("b", b), ("c", c), ("f", f), ("e", e), ("d", d), ("L", L)]}
"""


@pytest.mark.points(2)
def test_worked_graph(student, reference):
    """Value and gradients of the course's worked graph L = (a*b + c) * f"""
    got = student.eval(WORKED_GRAPH_PROBE)
    ref = reference.eval(WORKED_GRAPH_PROBE)

    t = {n: torch.tensor(v, dtype=F64, requires_grad=True) for n, v in
         [("a", 2.0), ("b", -3.0), ("c", 10.0), ("f", -2.0)]}
    e = t["a"] * t["b"]
    d = e + t["c"]
    L = d * t["f"]
    for node in (e, d, L):
        node.retain_grad()
    L.backward()
    nodes = {**t, "e": e, "d": d, "L": L}
    expected = {name: [node.item(), node.grad.item()] for name, node in nodes.items()}

    assert_close(got["L"][0], expected["L"][0], "L = (a*b + c) * f for a=2, b=-3, c=10, f=-2")
    assert_close(got["L"][1], 1.0, "after L.backward() the gradient of L itself")
    hints = {
        "d": "L = d * f, so dL/dd = f.data",
        "f": "L = d * f, so dL/df = d.data",
        "e": "d = e + c passes d's gradient on unchanged",
        "c": "d = e + c passes d's gradient on unchanged",
        "a": "e = a * b, so dL/da = b.data * e.grad",
        "b": "e = a * b, so dL/db = a.data * e.grad",
    }
    for name, hint in hints.items():
        assert_close(got[name][0], expected[name][0], f"value of {name} in the worked graph")
        assert_close(got[name][1], expected[name][1], f"gradient dL/d{name} in the worked graph ({hint})")
    for name in expected:
        assert_close(got[name], ref[name], f"value and gradient of {name}, compared with the reference solution")


NEURON_PROBE = """
x1 = Value(2.0); x2 = Value(0.0); w1 = Value(-3.0); w2 = Value(1.0)
b = Value(6.8813735870195432)
n = x1 * w1 + x2 * w2 + b
o = n.tanh()
o.backward()
{name: [float(v.data), float(v.grad)] for name, v in
 [("x1", x1), ("x2", x2), ("w1", w1), ("w2", w2), ("b", b), ("n", n), ("o", o)]}
"""


@pytest.mark.points(1)
def test_tanh_neuron(student, reference):
    """Output and gradients of the two-input tanh neuron from the course"""
    got = student.eval(NEURON_PROBE)
    ref = reference.eval(NEURON_PROBE)

    t = {n: torch.tensor(v, dtype=F64, requires_grad=True) for n, v in
         [("x1", 2.0), ("x2", 0.0), ("w1", -3.0), ("w2", 1.0), ("b", 6.8813735870195432)]}
    n = t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"]
    o = torch.tanh(n)
    n.retain_grad()
    o.retain_grad()
    o.backward()
    expected = {name: [v.item(), v.grad.item()] for name, v in {**t, "n": n, "o": o}.items()}

    assert_close(got["o"][0], expected["o"][0], "output o = tanh(x1*w1 + x2*w2 + b) of the neuron (about 0.7071)")
    assert_close(got["n"][1], expected["n"][1],
                 "gradient of o with respect to n = x1*w1 + x2*w2 + b (tanh'(n) = 1 - tanh(n)**2 = 0.5)")
    for name in ["x1", "w1", "x2", "w2", "b"]:
        assert_close(got[name][1], expected[name][1], f"gradient of the neuron's output with respect to {name}")
    for name in expected:
        assert_close(got[name], ref[name], f"value and gradient of {name}, compared with the reference solution")


# --------------------------------------------------------------------------- accumulation and operators
# A case like `a.exp() + a`: the root `+` sends a its gradient first, then exp's backward adds
# its own; a backward rule that assigns (`=`) instead of accumulating (`+=`) overwrites the first.
REUSE_HINT = ("the input is also used outside the {op}: its backward rule must add to the input's grad "
              "(+=), not overwrite it (=)")

@pytest.mark.points(2)
def test_gradient_accumulates_on_reuse(student, reference, grading_seed):
    """Gradients add up when a value is used more than once"""
    rng = random.Random(grading_seed + 1)
    a, b = _signed(rng), _signed(rng)
    acc = "gradients must accumulate with += because each use of a value adds its own contribution"
    cases = [
        ("a + a", {"a": a}, acc),
        ("a * a", {"a": a}, "x * x has gradient 2x: " + acc),
        ("a + a * a + a", {"a": a}, acc),
        ("(a * b) * (a + b)", {"a": a, "b": b}, "a and b each reach the output along two paths: " + acc),
        ("y = a * 3.0\nout = y * y + y", {"a": a}, "y is used three times: " + acc
         + ", and y must pass its gradient on only once it is complete (reverse topological order)"),
        ("e = a * b\nd = e + a\nout = d * e + d", {"a": a, "b": b},
         "intermediate nodes used twice need their full gradient before passing it on (reverse topological order)"),
    ]
    _check_cases(student, reference, cases)


@pytest.mark.points(1)
def test_add_and_mul_with_numbers(student, reference, grading_seed):
    """Addition and multiplication, with plain numbers on either side"""
    rng = random.Random(grading_seed + 2)
    a, b = _signed(rng), _signed(rng)
    k = _signed(rng, 1.0, 3.0)
    cases = [
        ("a + b", {"a": a, "b": b}, "+ passes out.grad to both operands"),
        ("a * b", {"a": a, "b": b}, "the gradient of a * b with respect to a is b.data * out.grad"),
        (f"a + {k}", {"a": a}, "wrap a plain number in a Value"),
        (f"{k} + a", {"a": a}, "a number on the left of + needs Value.__radd__"),
        (f"a * {k}", {"a": a}, "wrap a plain number in a Value"),
        (f"{k} * a", {"a": a}, "a number on the left of * needs Value.__rmul__"),
        (f"{k} * a * b + 1.5", {"a": a, "b": b}, None),
    ]
    _check_cases(student, reference, cases)


@pytest.mark.points(1)
def test_sub_and_neg(student, reference, grading_seed):
    """Subtraction and negation, with plain numbers on either side"""
    rng = random.Random(grading_seed + 3)
    a, b = _signed(rng), _signed(rng)
    k = _signed(rng, 1.0, 3.0)
    cases = [
        ("-a", {"a": a}, "the gradient of -a is -1"),
        ("a - b", {"a": a, "b": b}, "the gradient of a - b is +1 for a and -1 for b"),
        (f"a - {k}", {"a": a}, None),
        (f"{k} - a", {"a": a}, f"{k} - a calls a.__rsub__({k}), which must compute {k} - a, not a - {k}"),
        ("b - a - a", {"a": a, "b": b}, None),
        ("-(a * b) - b", {"a": a, "b": b}, None),
        ("-a + a", {"a": a}, REUSE_HINT.format(op="negation")),
        ("(a - b) + b", {"a": a, "b": b}, REUSE_HINT.format(op="-")),
        ("(b - a) * a", {"a": a, "b": b}, REUSE_HINT.format(op="-")),
        ("a - a", {"a": a}, "a - a does not depend on a: its gradient is 1 - 1 = 0; " + REUSE_HINT.format(op="-")),
        (f"({k} - a) + a", {"a": a}, REUSE_HINT.format(op="-")),
    ]
    _check_cases(student, reference, cases)


@pytest.mark.points(1)
def test_division(student, reference, grading_seed):
    """Division, with plain numbers on either side"""
    rng = random.Random(grading_seed + 4)
    a, b = _signed(rng), _signed(rng)
    k = _signed(rng, 1.0, 3.0)
    cases = [
        ("a / b", {"a": a, "b": b}, "d(a/b)/da = 1/b and d(a/b)/db = -a/b**2"),
        (f"a / {k}", {"a": a}, None),
        (f"{k} / a", {"a": a}, f"{k} / a calls a.__rtruediv__({k}); d({k}/a)/da = -{k}/a**2"),
        ("(a + b) / (a * b)", {"a": a, "b": b}, None),
        ("(a / b) + b", {"a": a, "b": b}, REUSE_HINT.format(op="/")),
        ("(a / b) * a", {"a": a, "b": b}, REUSE_HINT.format(op="/")),
        ("a / a", {"a": a}, "a / a is always 1: its gradient is 0; " + REUSE_HINT.format(op="/")),
        (f"({k} / a) + a", {"a": a}, REUSE_HINT.format(op="/")),
    ]
    _check_cases(student, reference, cases)


@pytest.mark.points(1)
def test_power(student, reference, grading_seed):
    """Powers with a constant exponent"""
    rng = random.Random(grading_seed + 5)
    a, c = _signed(rng), _positive(rng)
    rule = "d(x**n)/dx = n * x**(n - 1)"
    cases = [
        ("a ** 2", {"a": a}, rule),
        ("a ** 3", {"a": a}, rule),
        ("a ** -2", {"a": a}, rule),
        ("c ** 0.5", {"c": c}, rule),
        ("c ** 1.5 * a", {"a": a, "c": c}, rule),
        ("(a * c) ** 3", {"a": a, "c": c}, rule + ", times out.grad"),
        ("a ** 3 + a", {"a": a}, REUSE_HINT.format(op="**")),
        ("c ** 0.5 * c", {"c": c}, REUSE_HINT.format(op="**")),
    ]
    _check_cases(student, reference, cases)


# --------------------------------------------------------------------------- activation functions
@pytest.mark.points(1)
def test_exp_and_tanh(student, reference, grading_seed):
    """exp and tanh: values and gradients"""
    rng = random.Random(grading_seed + 6)
    exp_hint = "d(e**x)/dx = e**x, the output, not the input"
    tanh_hint = "tanh'(x) = 1 - tanh(x)**2, with the output tanh(x), not the input x"
    cases = [("a.exp()", {"a": x}, exp_hint) for x in (-1.2, 0.0, 0.8, _signed(rng))]
    cases += [("(a * b).exp() * 2.0", {"a": _signed(rng), "b": _signed(rng, 0.2, 1.0)}, exp_hint + ", times out.grad")]
    cases += [("a.tanh()", {"a": x}, tanh_hint) for x in (0.0, -0.7, 1.3, _signed(rng))]
    cases += [("(a * b).tanh() * 3.0", {"a": _signed(rng), "b": _signed(rng)}, tanh_hint + ", times out.grad")]
    cases += [("a.exp() + a", {"a": _signed(rng)}, REUSE_HINT.format(op="exp")),
              ("a.tanh() + a", {"a": _signed(rng)}, REUSE_HINT.format(op="tanh"))]
    _check_cases(student, reference, cases)


@pytest.mark.points(1)
def test_relu_and_sigmoid(student, reference, grading_seed):
    """relu and sigmoid: values and gradients"""
    rng = random.Random(grading_seed + 7)
    relu_hint = "relu passes the gradient on where its input is positive and blocks it (0) where it is negative"
    sig_hint = "sigmoid'(x) = s * (1 - s) with the output s = sigmoid(x)"
    cases = [("a.relu()", {"a": x}, relu_hint) for x in (-1.5, 0.7, _signed(rng), -_positive(rng))]
    cases += [("(a * b).relu() * 3.0", {"a": _positive(rng), "b": s * _positive(rng)}, relu_hint)
              for s in (1.0, -1.0)]
    cases += [("a.sigmoid()", {"a": x}, sig_hint) for x in (0.0, -2.0, 1.1, _signed(rng))]
    cases += [("(a * b).sigmoid() * 3.0", {"a": _signed(rng), "b": _signed(rng)}, sig_hint + ", times out.grad")]
    cases += [("a.relu() + a", {"a": _positive(rng)}, REUSE_HINT.format(op="relu")),
              ("a.relu() + a", {"a": -_positive(rng)}, REUSE_HINT.format(op="relu")),
              ("a.sigmoid() + a", {"a": _signed(rng)}, REUSE_HINT.format(op="sigmoid"))]
    overflow = ("math.exp overflows beyond about 709: compute 1 / (1 + math.exp(-x)) for x >= 0 and "
                "math.exp(x) / (1 + math.exp(x)) for x < 0")
    cases += [("a.sigmoid()", {"a": -800.0}, overflow), ("a.sigmoid()", {"a": 800.0}, overflow)]
    _check_cases(student, reference, cases)


# --------------------------------------------------------------------------- random expressions
def _random_program(rng: random.Random, steps: int):
    """A random straight-line program over a, b, c whose temporaries are reused (a DAG)."""
    pool = ["a", "b", "c"]
    lines, relu_inputs = [], []
    for i in range(steps):
        x, y = rng.choice(pool), rng.choice(pool)
        k = round(rng.choice([-1, 1]) * rng.uniform(0.3, 3.0), 2)
        kp = round(rng.uniform(0.5, 3.0), 2)
        options = [
            f"{x} + {y}", f"{x} - {y}", f"{x} * {y}", f"{x} * {y}",
            f"{k} * {x}", f"{x} * {k}", f"{x} + {k}", f"{k} + {x}", f"{k} - {x}", f"{x} - {k}", f"-{x}",
            f"{x} / (1 + {y} ** 2)", f"{kp} / (2 + {x}.tanh())", f"{x} / {kp}",
            f"{x} ** 2", f"{x}.tanh() ** 3",
            f"{x}.tanh()", f"({x} * {k}).tanh()", f"{x}.sigmoid()", f"({x}.tanh() * {kp}).exp()",
            f"{x}.relu()",
        ]
        choice = rng.choice(options)
        if choice == f"{x}.relu()":
            relu_inputs.append(x)
        lines.append(f"t{i} = {choice}")
        pool.append(f"t{i}")
    lines.append(f"out = {pool[-1]} * {rng.choice(pool[:-1])} + {rng.choice(pool)}")
    leaves = {name: round(rng.uniform(-2.0, 2.0), 3) for name in ("a", "b", "c")}
    return "\n".join(lines), leaves, relu_inputs


def _well_behaved(text: str, leaves: dict[str, float], relu_inputs: list[str]) -> bool:
    """Reject programs with huge values, huge gradients or a relu evaluated near its kink."""
    values, ns = _torch_run(text, leaves)
    if not all(math.isfinite(v) and abs(v) < 1e4 for v in values):
        return False
    if any(abs(v) > 1e3 for v in ns.values()):
        return False
    return all(abs(ns[name]) > 1e-3 for name in relu_inputs)


def _random_programs(seed: int, count: int = 20):
    rng = random.Random(seed)
    programs = []
    while len(programs) < count:
        text, leaves, relu_inputs = _random_program(rng, steps=rng.randint(5, 10))
        if _well_behaved(text, leaves, relu_inputs):
            programs.append((text, leaves, None))
    return programs


@pytest.mark.points(2)
def test_random_expressions(student, reference, grading_seed):
    """Random expressions with shared subexpressions match PyTorch's gradients"""
    programs = _random_programs(grading_seed + 8)
    _check_cases(student, reference, programs, [f"random expression #{i} " for i in range(1, len(programs) + 1)])


# --------------------------------------------------------------------------- topological order
FIXED_GRAPH = [  # (node, op, left, right); leaves have op None
    ("a", None, 2.0, None), ("b", None, -3.0, None), ("c", None, 10.0, None), ("f", None, -2.0, None),
    ("e", "*", "a", "b"), ("d", "+", "e", "c"), ("g", "*", "d", "a"), ("h", "+", "g", "e"),
    ("L", "*", "h", "d"), ("M", "*", "L", "f"),
]


def _random_graph(rng: random.Random):
    nodes = [(f"x{i}", None, round(rng.uniform(-2, 2), 3), None) for i in range(rng.randint(3, 5))]
    for i in range(rng.randint(6, 12)):
        names = [n[0] for n in nodes]
        left = rng.choice(names[-4:]) if rng.random() < 0.7 else rng.choice(names)
        nodes.append((f"n{i}", rng.choice("+*"), left, rng.choice(names)))
    return nodes


def _graph_probe(nodes) -> str:
    code = []
    for name, op, left, right in nodes:
        if op is None:
            code.append(f"{name} = Value({left!r}, label={name!r})")
        else:
            code.append(f"{name} = {left} {op} {right}")
            code.append(f"{name}.label = {name!r}")
    code.append(f"[str(v.label) for v in topological_order({nodes[-1][0]})]")
    return "\n".join(code)


def _check_topological(labels, nodes, what: str) -> None:
    children = {name: ({left, right} if op else set()) for name, op, left, right in nodes}
    root = nodes[-1][0]
    reachable, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in reachable:
            reachable.add(node)
            stack.extend(children[node])
    assert isinstance(labels, list), f"topological_order should return a list of Values ({what})"
    counts = Counter(labels)
    repeated = sorted(name for name, n in counts.items() if n > 1)
    assert not repeated, f"topological_order lists node(s) {repeated} more than once; each node must appear exactly once ({what})"
    missing = sorted(reachable - set(labels))
    assert not missing, f"topological_order leaves out node(s) {missing}, which the root depends on ({what})"
    extra = sorted(set(labels) - reachable)
    assert not extra, f"topological_order lists node(s) {extra} that the root does not depend on ({what})"
    position = {name: i for i, name in enumerate(labels)}
    for parent in labels:
        for child in sorted(children[parent]):
            assert position[child] < position[parent], (
                f"'{child}' is an input of '{parent}', so it must come before '{parent}' in topological_order "
                f"(children before parents, root last), but the order was {labels} ({what})")


@pytest.mark.points(1)
def test_topological_order(student, reference, grading_seed):
    """topological_order lists every node once, children before parents"""
    rng = random.Random(grading_seed + 9)
    graphs = [("a graph where a, d and e are used twice", FIXED_GRAPH)]
    graphs += [(f"random graph #{i}", _random_graph(rng)) for i in (1, 2, 3)]
    for what, nodes in graphs:
        probe = _graph_probe(nodes)
        _check_topological(reference.eval(probe), nodes, f"reference solution, {what}")
        _check_topological(student.eval(probe), nodes, what)


# --------------------------------------------------------------------------- numeric derivative
@pytest.mark.points(1)
def test_numeric_derivative(student, reference, grading_seed):
    """numeric_derivative uses the central difference"""
    rng = random.Random(grading_seed + 10)
    x6, xe = round(rng.uniform(-1, 1), 3), round(rng.uniform(-1, 1), 3)
    xc, hc = round(rng.uniform(-2, 2), 3), rng.choice([0.1, 0.2, 0.25])
    probe = f"""
import math
[numeric_derivative(lambda x: x ** 3, 2.0, h=1e-3),
 numeric_derivative(math.sin, 0.5),
 numeric_derivative(lambda x: math.sin(6 * x), {x6!r}),
 numeric_derivative(math.exp, {xe!r}, h=1e-4),
 numeric_derivative(lambda x: x ** 3, {xc!r}, {hc!r})]
"""
    got = student.eval(probe)
    ref = reference.eval(probe)

    def central(f, x, h):
        return (f(x + h) - f(x - h)) / (2 * h)

    assert isinstance(got, list) and all(isinstance(v, (int, float)) for v in got), \
        f"numeric_derivative should return a float, got {str(got)[:200]}"
    assert_close(got[4], central(lambda x: x ** 3, xc, hc),
                 f"numeric_derivative(lambda x: x**3, {xc}, {hc}): the central difference with the h passed in is "
                 f"3x**2 + h**2 = {3 * xc ** 2 + hc ** 2:.6f}", rtol=1e-9, atol=1e-9)
    want = central(lambda x: x ** 3, 2.0, 1e-3)
    assert is_close(got[0], want, rtol=1e-9, atol=1e-9), \
        (f"numeric_derivative(lambda x: x**3, 2.0, h=1e-3) should be the central difference (f(x+h) - f(x-h)) / (2h) "
         f"with h = 1e-3, which is {want!r} here, got {got[0]!r}")
    assert_close(got[1], math.cos(0.5), "numeric_derivative(math.sin, 0.5) should be close to cos(0.5)",
                 rtol=0, atol=1e-7)
    assert_close(got[2], 6 * math.cos(6 * x6), f"numeric derivative of sin(6x) at x = {x6} (chain rule: 6 cos(6x))",
                 rtol=0, atol=1e-6)
    want = central(math.exp, xe, 1e-4)
    assert is_close(got[3], want, rtol=1e-9, atol=1e-12), \
        (f"numeric_derivative(math.exp, {xe}, h=1e-4) should be the central difference with the given h, "
         f"{want!r}, got {got[3]!r}")
    assert_close(got, ref, "numeric derivatives compared with the reference solution", rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- display
@pytest.mark.points(0.5)
def test_repr(student, reference):
    """Value's repr shows data and grad"""
    probe = """
v = Value(3.0)
v.grad = 6.0
[repr(Value(2.0)), repr(Value(-3.5)), repr(v)]
"""
    got = student.eval(probe)
    expected = ["Value(data=2.0, grad=0.0)", "Value(data=-3.5, grad=0.0)", "Value(data=3.0, grad=6.0)"]
    assert reference.eval(probe) == expected, "the reference solution's repr changed"
    for text, want in zip(got, expected):
        assert text == want, f"repr of a Value should look like {want!r}, got {text!r}"


# --------------------------------------------------------------------------- the network
STRUCTURE_PROBE = """
_neuron = Neuron(3)
_layer = Layer(3, 4)
_single = Layer(3, 1)
_mlp = MLP(3, [4, 4, 1])
_ps = _mlp.parameters()
_x = [1.0, -2.0, 0.5]
_layer_out = _layer(_x)
{
    "neuron": len(_neuron.parameters()),
    "layer": len(_layer.parameters()),
    "mlp": len(_ps),
    "mlp_distinct": len({id(p) for p in _ps}),
    "mlp_2_3_2": len(MLP(2, [3, 2]).parameters()),
    "all_values": all(isinstance(p, Value) for p in _ps),
    "in_range": all(-1.0 <= p.data <= 1.0 for p in _ps),
    "layer_out_is_list": isinstance(_layer_out, list),
    "layer_out_len": len(_layer_out) if isinstance(_layer_out, list) else -1,
    "layer_out_values": isinstance(_layer_out, list) and all(isinstance(v, Value) for v in _layer_out),
    "single_is_value": isinstance(_single(_x), Value),
    "mlp_out_is_value": isinstance(_mlp(_x), Value),
    "init": [[float(p.data) for p in Neuron(5).parameters()] for _ in range(40)],
}
"""


@pytest.mark.points(0.5)
def test_network_structure(student, reference):
    """Neuron, Layer and MLP have the right parameters and outputs"""
    got = student.eval(STRUCTURE_PROBE)
    assert reference.eval(STRUCTURE_PROBE)["mlp"] == N_PARAMS, "the reference solution's MLP changed"
    assert got["neuron"] == 4, f"Neuron(3) should have 4 parameters (3 weights and a bias), got {got['neuron']}"
    assert got["layer"] == 16, f"Layer(3, 4) should have 16 parameters (4 neurons with 4 each), got {got['layer']}"
    assert got["mlp"] == N_PARAMS, f"MLP(3, [4, 4, 1]) should have 41 parameters (16 + 20 + 5), got {got['mlp']}"
    assert got["mlp_distinct"] == N_PARAMS, "MLP.parameters() lists the same Value more than once"
    assert got["mlp_2_3_2"] == 17, f"MLP(2, [3, 2]) should have 17 parameters (9 + 8), got {got['mlp_2_3_2']}"
    assert got["all_values"], "parameters() should return Value objects"
    assert got["in_range"], "weights and biases should be drawn from random.uniform(-1, 1)"
    init = got["init"]
    assert all(isinstance(ps, list) and len(ps) == 6 for ps in init), "Neuron(5) should have 6 parameters"
    for what, values in [("weights", [w for ps in init for w in ps[:-1]]), ("biases", [ps[-1] for ps in init])]:
        low, high, mean = min(values), max(values), sum(values) / len(values)
        assert -1.0 <= low and high <= 1.0 and low < -0.5 and high > 0.5 and abs(mean) < 0.25 \
            and len(set(values)) == len(values), (
                f"the {what} of 40 new Neuron(5)s should be spread over [-1, 1] (random.uniform(-1, 1), a new "
                f"number each): smallest {low:.3f}, largest {high:.3f}, mean {mean:.3f}, "
                f"{len(set(values))} different values out of {len(values)}")
    assert got["layer_out_is_list"] and got["layer_out_len"] == 4 and got["layer_out_values"], \
        "Layer(3, 4) called on an input should return a list of 4 Values"
    assert got["single_is_value"], "Layer(3, 1) should return a single Value, not a list"
    assert got["mlp_out_is_value"], "MLP(3, [4, 4, 1]) should return a single Value"


@pytest.mark.points(1)
def test_neuron_forward(student, reference, grading_seed):
    """A neuron computes tanh(w . x + b) and backpropagates to weights, bias and inputs"""
    rng = random.Random(grading_seed + 11)
    params = [round(rng.uniform(-1, 1), 6) for _ in range(5)]
    x = [round(rng.uniform(-2, 2), 3) for _ in range(4)]
    probe = f"""
_n = Neuron(4)
_ps = _n.parameters()
assert len(_ps) == 5, f"Neuron(4) should have 5 parameters, got {{len(_ps)}}"
for _p, _v in zip(_ps, {params!r}):
    _p.data = _v
_x = [Value(_v) for _v in {x!r}]
_out = _n(_x)
_out.backward()
_plain = _n({x!r})
[float(_out.data), [float(p.grad) for p in _ps], [float(v.grad) for v in _x], float(_plain.data)]
"""
    got = student.eval(probe)
    ref = reference.eval(probe)

    p = torch.tensor(params, dtype=F64, requires_grad=True)
    xt = torch.tensor(x, dtype=F64, requires_grad=True)
    out = torch.tanh((p[:4] * xt).sum() + p[4])
    out.backward()
    assert_close(got[0], out.item(), f"output of a Neuron(4) with weights {params[:4]}, bias {params[4]} "
                                     f"and input {x} (tanh(w . x + b); parameters() lists the weights, then the bias)")
    where = f"a Neuron(4) with weights {params[:4]}, bias {params[4]} and input {x}"
    assert_close(got[1], p.grad.tolist(), f"gradients of the output of {where} with respect to its weights and bias")
    assert_close(got[2], xt.grad.tolist(), f"gradients of the output of {where} with respect to its inputs")
    assert_close(got[3], out.item(), f"output of {where} given as a list of plain floats")
    assert_close(_flat(got), _flat(ref), "neuron output and gradients compared with the reference solution")


# A model written for the tests (a fake, DESIGN.md section 4): one neuron over the 3 features with
# sin where the course's neuron has tanh, whose output node carries a backward rule of its own,
# with its own parameters() and zero_grad(). train_step and train are graded on it, so that a bug
# in Neuron, Layer, MLP or zero_grad costs only its own test, and no correct Neuron enters the
# student's kernel.
TINY_MODEL = """
import math as _math
class _TinyModel:
    def __init__(self, values):
        self.ps = [Value(v) for v in values]
    def parameters(self):
        return list(self.ps)
    def zero_grad(self):
        for p in self.ps:
            p.grad = 0.0
    def __call__(self, x):
        xs = [float(v.data) if isinstance(v, Value) else float(v) for v in x]
        ws, b = self.ps[:-1], self.ps[-1]
        z = sum(w.data * xi for w, xi in zip(ws, xs)) + b.data
        out = Value(_math.sin(z), tuple(self.ps), 'tiny')
        def _backward():
            d = _math.cos(z) * out.grad
            for w, xi in zip(ws, xs):
                w.grad += xi * d
            b.grad += d
        out._backward = _backward
        return out
"""


def _tiny_params(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(-1, 1), 6) for _ in range(4)]


def _torch_tiny_loss(params: torch.Tensor) -> torch.Tensor:
    return sum((torch.sin((params[:3] * torch.tensor(x, dtype=F64)).sum() + params[3]) - y) ** 2
               for x, y in zip(XS, YS))


@remember
def _tiny_oracle(params: list[float]) -> tuple[float, list[float]]:
    p = torch.tensor(params, dtype=F64, requires_grad=True)
    loss = _torch_tiny_loss(p)
    (grad,) = torch.autograd.grad(loss, p)
    return loss.item(), grad.tolist()


@remember
def _tiny_train(params0: list[float], steps: int, lr: float) -> list[float]:
    params = torch.tensor(params0, dtype=F64, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = _torch_tiny_loss(params)
        losses.append(loss.item())
        (grad,) = torch.autograd.grad(loss, params)
        with torch.no_grad():
            params -= lr * grad
    return losses


TINY_NAMES = ["weight 1", "weight 2", "weight 3", "bias"]


@pytest.mark.points(1)
def test_mse_loss(student, reference, grading_seed):
    """mse_loss: the sum of the squared errors, with its gradients"""
    rng = random.Random(grading_seed + 16)
    cases = [([round(rng.uniform(-1, 1), 4) for _ in range(n)], [rng.choice([-1.0, 1.0]) for _ in range(n)])
             for n in (3, 5)]
    code = ["_res = []"]
    for preds, targets in cases:
        code += [f"_p = [Value(_v) for _v in {preds!r}]",
                 f"_l = mse_loss(_p, {targets!r})",
                 "_l.backward()",
                 "_own = []",
                 "for _how in ('pow', 'mul'):",
                 "    try:",
                 f"        _q = [Value(_v) for _v in {preds!r}]",
                 f"        _o = sum((_a - _t) ** 2 if _how == 'pow' else (_a - _t) * (_a - _t) for _a, _t in zip(_q, {targets!r}))",
                 "        _o.backward()",
                 "        _own.append([float(_o.data), [float(_v.grad) for _v in _q]])",
                 "    except Exception:",
                 "        _own.append(None)",
                 "_res.append([type(_l).__name__, float(_l.data), [float(_v.grad) for _v in _p], _own])"]
    code.append("_res")
    probe = "\n".join(code)
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (preds, targets), (kind, value, grads, own), ref_answer in zip(cases, got, ref):
        want = [sum((p - t) ** 2 for p, t in zip(preds, targets)), [2 * (p - t) for p, t in zip(preds, targets)]]
        call = f"mse_loss(preds, {targets}) with preds = Values {preds}"
        assert kind == "Value", f"{call} should return a Value (so that backward() can run), got a {kind}"
        wrong_ops = [o for o in own if o is not None and not is_close(o, want)]
        if any(is_close([value, grads], o) for o in wrong_ops):
            continue  # right loss on top of the student's own (wrong) -, * or ** (their tests say so)
        assert_close(value, want[0], f"{call}: the sum (not the mean) over the {len(preds)} examples of "
                                     "(prediction - target)**2")
        assert_close(grads, want[1], f"{call}: after backward(), the gradient of each prediction, "
                                     "2 * (prediction - target)")
        assert_close([value, grads], ref_answer[1:3], f"{call}, compared with the reference solution")


@pytest.mark.points(1)
def test_zero_grad(student, reference, grading_seed):
    """zero_grad resets the gradients of every parameter"""
    rng = random.Random(grading_seed + 12)
    grads = [round(rng.uniform(-3, 3), 4) or 1.0 for _ in range(N_PARAMS)]
    params = _random_params(grading_seed + 12)
    probe = (
        "_m = MLP(3, [4, 4, 1])\n"
        "_ps = _m.parameters()\n"
        f"for _p, _v, _g in zip(_ps, {params!r}, {grads!r}):\n"
        "    _p.data = _v\n"
        "    _p.grad = _g\n"
        "_m.zero_grad()\n"
        "_res = {'mlp': [float(p.grad) for p in _ps], 'mlp_data': [float(p.data) for p in _ps]}\n"
        "for _name, _mod in [('neuron', Neuron(3)), ('layer', Layer(3, 2))]:\n"
        "    for _i, _p in enumerate(_mod.parameters()):\n"
        "        _p.grad = 1.5 + _i\n"
        "    _mod.zero_grad()\n"
        "    _res[_name] = [float(p.grad) for p in _mod.parameters()]\n"
        "_res\n"
    )
    got = student.eval(probe)
    ref = reference.eval(probe)
    assert ref["mlp"] == [0.0] * N_PARAMS, "the reference solution's zero_grad changed"
    names = _param_names() + [f"parameter {i + 1}" for i in range(N_PARAMS, len(got["mlp"]))]
    for i, g in enumerate(got["mlp"]):
        assert g == 0.0, (f"after setting the gradients of MLP(3, [4, 4, 1])'s parameters to {grads[:3]}... and "
                          f"calling model.zero_grad(), every gradient should be 0.0; {names[i]} still has {g}")
    for i, (value, want) in enumerate(zip(got["mlp_data"], params)):
        assert_close(value, want, f"after model.zero_grad(), the value (.data) of {names[i]}: zero_grad() must reset "
                                  "the gradients only, not change the parameters")
    for name, call in [("neuron", "Neuron(3)"), ("layer", "Layer(3, 2)")]:
        assert all(g == 0.0 for g in got[name]), \
            f"{call}.zero_grad() should set every parameter's gradient to 0.0, got {got[name]}"


def _train_step_runs(grading_seed: int):
    return _tiny_params(grading_seed + 13), (0.1, 0.35)


@pytest.mark.points(1)
def test_train_step(student, reference, grading_seed):
    """train_step zeroes the gradients, backpropagates the loss and updates the parameters"""
    params, (lr, lr2) = _train_step_runs(grading_seed)
    probe = (
        TINY_MODEL +
        f"_xs, _ys = {XS!r}, {YS!r}\n"
        f"_m = _TinyModel({params!r})\n"
        "_ps = _m.parameters()\n"
        "_l1 = train_step(_m, _xs, _ys, 0.0)\n"
        "_g1 = [float(p.grad) for p in _ps]\n"
        "_l2 = train_step(_m, _xs, _ys, 0.0)\n"
        "_g2 = [float(p.grad) for p in _ps]\n"
        "_d2 = [float(p.data) for p in _ps]\n"
        f"_l3 = train_step(_m, _xs, _ys, {lr!r})\n"
        "_d3 = [float(p.data) for p in _ps]\n"
        f"_m2 = _TinyModel({params!r})\n"
        f"_l4 = train_step(_m2, _xs, _ys, {lr2!r})\n"
        "_d4 = [float(p.data) for p in _m2.parameters()]\n"
        "try:\n"
        f"    _m3 = _TinyModel({params!r})\n"
        "    _loss = mse_loss([_m3(_x) for _x in _xs], _ys)\n"
        "    _loss.backward()\n"
        "    _own = [float(_loss.data), [float(p.grad) for p in _m3.parameters()]]\n"
        "except Exception:\n"
        "    _own = None\n"
        "{'types': ['float' if isinstance(_l, float) else type(_l).__name__ for _l in (_l1, _l2, _l3, _l4)],\n"
        " 'losses': [float(_l) if isinstance(_l, (int, float)) else None for _l in (_l1, _l2, _l3, _l4)],\n"
        " 'g1': _g1, 'g2': _g2, 'd2': _d2, 'd3': _d3, 'd4': _d4, 'own': _own}\n"
    )
    got = student.eval(probe)
    ref = reference.eval(probe)
    loss, grad = _tiny_oracle(params)
    own = got["own"]
    source = "the sum over the 4 examples of (prediction - target)**2"
    if own is not None and not is_close(own, [loss, grad]):
        loss, grad = own  # the student's mse_loss or backward is wrong (their own tests say so)
        source = "what your own mse_loss(...) and backward() give for this model"
    model = (f"the grader's model, a neuron with sin in place of tanh, with parameters {params} (weights, then bias) on "
             "the course's 4 examples")
    assert got["types"][0] == "float", \
        f"train_step(model, xs, ys, 0.0) should return the loss as a plain float (loss.data), got a {got['types'][0]}"
    assert_close(got["losses"][0], loss, f"the loss returned by train_step(model, xs, ys, 0.0) for {model} "
                                         f"({source}, measured before the update)")
    _assert_close_each(got["g1"], grad, f"the gradients left in .grad by train_step(model, xs, ys, 0.0) for {model} "
                                        f"(loss.backward() on {source})", TINY_NAMES)
    _assert_close_each(got["g2"], grad, "the gradients after a second train_step(model, xs, ys, 0.0): with lr=0 the "
                                        "parameters do not change, so they should equal the first step's; call "
                                        "model.zero_grad() at the start of each step so that they do not pile up",
                       TINY_NAMES)
    _assert_close_each(got["d2"], params, "the parameters after two steps with lr=0 (they must not change)",
                       TINY_NAMES)
    assert_close(got["losses"][1:3], [loss, loss],
                 "the losses returned by the second step (lr=0) and a third step with lr=0.1 (each measured "
                 "before its update, at the unchanged parameters)")
    for key, rate in [("d3", lr), ("d4", lr2)]:
        _assert_close_each(got[key], [p - rate * g for p, g in zip(params, grad)],
                           f"the parameters after train_step(model, xs, ys, {rate}) from {params}: "
                           "p.data - lr * p.grad, with the lr passed in", TINY_NAMES)
    if source.startswith("the sum"):
        numbers = ["losses", "g1", "g2", "d3", "d4"]
        assert_close(_flat([got[k] for k in numbers]), _flat([ref[k] for k in numbers]),
                     "losses, gradients and parameters compared with the reference solution")


def _training_runs(grading_seed: int):
    params = _tiny_params(grading_seed + 14)
    return [(params, 40, 0.05), (params, 6, 0.2)]


SPY_TRAIN_STEP = """
_spy_calls = []
def _spy_train_step(model, xs, ys, lr):
    _spy_calls.append([model is _m, list(xs) == list(_xs), list(ys) == list(_ys)])
    return 1000.0 * float(lr) + len(_spy_calls)
"""


@pytest.mark.points(1)
def test_training(student, reference, grading_seed):
    """train calls train_step once per step and returns its losses"""
    runs = _training_runs(grading_seed)
    # train runs with a spy in place of train_step (it records its arguments and returns
    # 1000 * lr + the call's number), so only train's loop is graded; a train that does the
    # steps itself is graded against plain gradient descent instead
    code = [TINY_MODEL, SPY_TRAIN_STEP, with_fakes("train", {"train_step": "_spy_train_step"}), "_res = []",
            f"_xs, _ys = {XS!r}, {YS!r}"]
    for params, steps, lr in runs:
        code += ["_spy_calls.clear()",
                 f"_m = _TinyModel({params!r})",
                 f"_losses = _train(_m, _xs, _ys, steps={steps}, lr={lr!r})",
                 "_res.append([[float(_l) if isinstance(_l, (int, float)) else None for _l in _losses]"
                 " if isinstance(_losses, list) else None, list(_spy_calls)])"]
    code.append("_res")
    probe = "\n".join(code)
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (params, steps, lr), (losses, calls), ref_run in zip(runs, got, ref):
        call = f"train(model, xs, ys, steps={steps}, lr={lr}) on the course's 4 examples"
        spied = [1000.0 * lr + i for i in range(1, steps + 1)]
        assert_close(ref_run[0], spied, "grader setup: the reference's train with the spy")
        assert isinstance(losses, list) and len(losses) == steps, \
            f"{call} should return a list of {steps} losses, got {str(losses)[:200]}"
        assert None not in losses, f"{call} should return plain float losses (the values train_step returns)"
        if not calls:   # no call to train_step: the steps are done inline, graded as gradient descent
            _assert_close_each(losses, _tiny_train(params, steps, lr),
                               f"the losses of {call} for the grader's sin neuron with parameters {params}, compared "
                               "with plain gradient descent in PyTorch (each step: zero the gradients, loss, backward, "
                               "update with the lr passed in; each loss measured before its update)",
                               [f"step {i}" for i in range(steps)])
            continue
        assert len(calls) == steps, f"{call} should call train_step once per step, {steps} times, got {len(calls)}"
        assert all(all(c) for c in calls), \
            f"{call} should hand train_step the model, xs and ys it was given, unchanged, at every step"
        assert_close(losses, spied, f"the losses {call} returns, with train_step replaced by the grader's spy (which "
                     "returns 1000 * lr + the call's number): the value of every step's train_step(model, xs, ys, lr), "
                     "in order, with the lr passed in")


# MLP and Layer graded on their own: Neuron.__call__ is replaced, for this probe only, by a fake
# neuron that computes sin(w . x + b) from the neuron's parameters() (weights, then bias) -- on
# purpose not the answer (tanh), so no correct implementation enters the student's kernel
# (DESIGN.md section 4). The expected outputs are computed here with the same fake.
FAKE_NEURON = """
import math as _math
def _fake_neuron_call(self, x):
    ps = self.parameters()
    xs = [v.data if isinstance(v, Value) else v for v in x]
    return Value(_math.sin(sum(w.data * v for w, v in zip(ps[:-1], xs)) + ps[-1].data))
_student_neuron_call = Neuron.__call__
Neuron.__call__ = _fake_neuron_call
"""


@pytest.mark.points(1)
def test_mlp_forward(student, reference, grading_seed):
    """Layer and MLP feed their input through the layers in order"""
    nets = [(3, [4, 4, 1]), (2, [3, 2]), (4, [2, 3])]
    rng = random.Random(grading_seed + 17)
    cases = []
    for nin, nouts in nets:
        sizes = [nin] + nouts
        n = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
        cases.append((nin, nouts, [round(rng.uniform(-1, 1), 6) for _ in range(n)],
                      [round(rng.uniform(-2, 2), 3) for _ in range(nin)]))
    code = [FAKE_NEURON, "_res = []", "try:"]
    for nin, nouts, params, x in cases:
        code += [f"    _m = MLP({nin}, {nouts!r})",
                 "    _ps = _m.parameters()",
                 f"    if len(_ps) == {len(params)}:",
                 f"        for _p, _v in zip(_ps, {params!r}):",
                 "            _p.data = _v",
                 f"    _out = _m({x!r})",
                 "    _res.append([len(_ps), [float(_o.data) for _o in _out] if isinstance(_out, list) else "
                 "float(_out.data) if isinstance(_out, Value) else type(_out).__name__])"]
    code += ["finally:", "    Neuron.__call__ = _student_neuron_call", "_res"]
    probe = "\n".join(code)
    got = student.eval(probe)
    ref = reference.eval(probe)
    for (nin, nouts, params, x), (count, out), ref_case in zip(cases, got, ref):
        sizes = [nin] + nouts
        call = f"MLP({nin}, {nouts})"
        assert count == len(params), f"{call} should have {len(params)} parameters, got {count}"
        fake = _torch_mlp(torch.tensor(params, dtype=F64), x, sizes, activation=torch.sin)
        true = _torch_mlp(torch.tensor(params, dtype=F64), x, sizes)
        # a Layer that works out its neurons' outputs itself instead of calling them gets the true outputs
        want = true if is_close(out, true.item() if nouts[-1] == 1 else true.tolist()) else fake
        want = want.item() if nouts[-1] == 1 else want.tolist()
        if nouts[-1] == 1:
            assert isinstance(out, float), \
                f"{call} on the input {x} should return a single Value (its last layer has one neuron), got {out}"
        else:
            assert isinstance(out, list), f"{call} on the input {x} should return a list of {nouts[-1]} Values"
        assert_close(out, want, f"the output of {call} on the input {x}, with parameters set in the order of "
                                f"parameters() (layer by layer, neuron by neuron, each neuron's weights then its "
                                f"bias) and each layer fed the previous layer's outputs; Neuron.__call__ replaced by "
                                f"the grader's stand-in sin(w . x + b) so that only Layer and MLP are graded here)")
        fake = fake.item() if nouts[-1] == 1 else fake.tolist()
        assert_close(ref_case[1], fake, f"grader setup: the reference's {call} with the fake neuron")
