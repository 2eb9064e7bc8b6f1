# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Week 02 — Implementing gradient descent: a tiny autograd engine
#
# Last week we trained a network by nudging each weight a little and watching what happened to
# the loss. That works for a handful of weights but is hopeless for millions. This week we
# compute **all** the derivatives of the loss in a single backward sweep, the way PyTorch does,
# by writing a small automatic-differentiation ("autograd") engine for scalars, in the spirit of
# Andrej Karpathy's *micrograd*.
#
# The plan:
#
# 1. slopes and derivatives, and how to estimate a derivative numerically;
# 2. the chain rule and the two rules of backpropagation;
# 3. Python's magic methods and a `Value` class that records the computation as a graph;
# 4. more operators (`-`, `/`, `**`, numbers on the left-hand side);
# 5. topological order and `backward()`;
# 6. activation functions: `tanh`, `sigmoid`, `exp`, `relu`;
# 7. a neuron, a layer and a multilayer perceptron built from `Value`s;
# 8. gradient descent on a tiny dataset.
#
# **How to work.** Fill in every place marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Do not rename the given functions, classes or arguments:
# the grader calls them by name. Run the notebook from top to bottom; the cells titled
# *Check* test a few cases for you. The grader runs more tests that you do not see, and compares
# your gradients with PyTorch's. Only the Python standard library is needed (`math`, `random`).

# %% nbgrader={"grade": false, "grade_id": "parameters", "locked": true, "schema_version": 3, "solution": false} tags=["parameters"]
# Settings the grader may change when it runs your notebook. Do not edit this cell.
SEED = 0            # seed for random weight initialisation
FAST = False        # True: shorter demo training (used while grading)
DEVICE = "cpu"      # unused this week: everything is plain Python
DATA_DIR = "data"   # unused this week: no data files are needed

# %% nbgrader={"grade": false, "grade_id": "imports", "locked": true, "schema_version": 3, "solution": false}
import math
import random

random.seed(SEED)


# %% [markdown] nbgrader={"grade": false, "grade_id": "slope_md", "locked": true, "schema_version": 3, "solution": false}
# ## 1. Slopes and derivatives
#
# ### The slope of a line
#
# The **slope** (or gradient) $m$ of a straight line is one number that says which way the line
# goes and how fast: walk along the line from a point $P=(x_1, y_1)$ to another point
# $Q=(x_2, y_2)$ and divide how far you climbed by how far you walked sideways,
#
# $$m = \frac{\Delta y}{\Delta x} = \frac{y_2 - y_1}{x_2 - x_1} \qquad\text{("rise over run").}$$
#
# * A line going up from left to right has $m > 0$; a line going down has $m < 0$.
# * A horizontal line has $m = 0$. For a vertical line $\Delta x = 0$, so the slope is undefined
#   (you may think of it as infinite).
# * The **steepness** is $|m|$. A line at 45° has $m = \tan 45° = 1$ (or $-1$ when falling), so
#   $|m| > 1$ means steeper than 45°.
#
# Two examples:
#
# * $P=(1, 2)$, $Q=(13, 8)$: $\Delta y = 6$, $\Delta x = 12$, $m = 0.5$. The line goes up and is
#   gentler than 45°.
# * $P=(4, 15)$, $Q=(3, 21)$: $\Delta y = 6$, $\Delta x = -1$, $m = -6$. The line goes down, and
#   steeply.

# %% nbgrader={"grade": false, "grade_id": "slope_demo", "locked": true, "schema_version": 3, "solution": false}
def slope(p, q):
    """Slope of the straight line through the points p and q (rise over run)."""
    (x1, y1), (x2, y2) = p, q
    if x1 == x2:
        return math.inf  # vertical line: the slope is undefined
    return (y2 - y1) / (x2 - x1)


for p, q in [((1, 2), (13, 8)), ((4, 15), (3, 21))]:
    m = slope(p, q)
    direction = "up" if m > 0 else "down" if m < 0 else "flat"
    steepness = "steep" if abs(m) > 1 else "not steep"
    print(f"P={p}, Q={q}: m = {m:g} ({direction}, {steepness})")


# %% [markdown] nbgrader={"grade": false, "grade_id": "derivative_md", "locked": true, "schema_version": 3, "solution": false}
# ### From slope to derivative
#
# A curve has no single slope: its direction changes from point to point. The **derivative**
# $f'(x)$ is the slope of the tangent line that touches the curve at $x$. We get it from the slope
# formula by making the step $h$ between the two points smaller and smaller:
#
# $$f'(x) = \lim_{h \to 0} \frac{f(x + h) - f(x)}{h}.$$
#
# For $f(x) = x^2$:
# $\frac{(x+h)^2 - x^2}{h} = \frac{2xh + h^2}{h} = 2x + h$, which tends to $2x$ as $h \to 0$,
# so $f'(x) = 2x$.
#
# What the derivative tells us: **if we increase the input by a tiny amount $h$, the output changes
# by about $f'(x)\,h$.** Its sign says in which direction the output moves, its size how
# sensitive the output is. This is exactly what we need to train a network: for every weight,
# how the loss reacts when that weight is nudged.
#
# ### Estimating a derivative numerically
#
# A computer cannot take the limit, but it can use a small $h$. The *central difference*
#
# $$f'(x) \approx \frac{f(x + h) - f(x - h)}{2h}$$
#
# looks at one point on each side of $x$. Its error shrinks like $h^2$, whereas the one-sided
# formula above has an error that shrinks only like $h$ (for $x^2$ the one-sided formula gives
# $2x + h$, the central one gives $2x$ exactly). $h$ must not be too small either: $f(x+h)$
# and $f(x-h)$ then agree in almost all their digits and the subtraction loses them. In double
# precision $h = 10^{-6}$ is a reasonable default.
#
# **Task.** Implement `numeric_derivative` with the central difference. We will use it to check
# the gradients that our engine computes.

# %% nbgrader={"grade": false, "grade_id": "numeric_derivative", "locked": false, "schema_version": 3, "solution": true}
def numeric_derivative(f, x: float, h: float = 1e-6) -> float:
    """Estimate the derivative of the function `f` at `x`.

    Uses the central difference (f(x + h) - f(x - h)) / (2 * h).
    `f` takes one float and returns one float; the result is a float.
    """
    ### BEGIN SOLUTION
    return (f(x + h) - f(x - h)) / (2 * h)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "derivative_demo", "locked": true, "schema_version": 3, "solution": false}
def square(x):
    return x ** 2


for x in [-1.0, 0.0, 3.0]:
    print(f"x = {x:+.1f}:  numeric slope of x**2 = {numeric_derivative(square, x):+.8f},  exact 2x = {2 * x:+.1f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "chain_md", "locked": true, "schema_version": 3, "solution": false}
# ### The chain rule
#
# Most functions we meet are compositions: the input $x$ influences an intermediate value $y$,
# and $y$ influences the output $z$. The **chain rule** says that the sensitivities multiply:
#
# $$\frac{dz}{dx} = \frac{dz}{dy} \cdot \frac{dy}{dx}.$$
#
# Example: $z = \sin(6x)$. With $y = 6x$ we have $z = \sin y$, so
# $\frac{dz}{dy} = \cos y$ and $\frac{dy}{dx} = 6$, hence
# $\frac{d}{dx}\sin(6x) = 6\cos(6x)$.
#
# If the input reaches the output along **several paths**, the contributions of the paths are
# **added** (the multivariable chain rule). For $z = x \cdot x$ each factor contributes $x$, and
# $\frac{dz}{dx} = x + x = 2x$. Keep this in mind: it is why gradients *accumulate* below.

# %% nbgrader={"grade": false, "grade_id": "chain_demo", "locked": true, "schema_version": 3, "solution": false}
x = 0.3
print("numeric derivative of sin(6x) at x = 0.3:", numeric_derivative(lambda t: math.sin(6 * t), x))
print("chain rule, 6 cos(6x):                   ", 6 * math.cos(6 * x))

# %% nbgrader={"grade": true, "grade_id": "check_numeric_derivative", "locked": true, "points": 0, "schema_version": 3, "solution": false}
assert abs(numeric_derivative(lambda x: x ** 2, 3.0) - 6.0) < 1e-6, "the derivative of x**2 at x = 3 should be about 6"
assert abs(numeric_derivative(lambda x: math.sin(6 * x), 0.3) - 6 * math.cos(1.8)) < 1e-6, \
    "the derivative of sin(6x) at x = 0.3 should be about 6 cos(1.8)"
assert abs(numeric_derivative(lambda x: x ** 3, 2.0, h=1e-3) - 12.000001) < 1e-9, \
    "with h = 1e-3 the central difference of x**3 at x = 2 is exactly 12.000001: use (f(x+h) - f(x-h)) / (2h) and the given h"
print("numeric_derivative: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "backprop_md", "locked": true, "schema_version": 3, "solution": false}
# ## 2. Backpropagation by hand
#
# A computation can be drawn as a **graph**: every intermediate result is a node, and the nodes it
# was computed from are its *children* (its inputs). **Backpropagation** computes the derivative
# of the final node (the loss) with respect to every node in the graph. We store that number as
# the node's `grad`. It starts at the output, where $\frac{dL}{dL} = 1$, and walks the graph
# backwards. Each node hands its gradient to its children using the chain rule and the local
# derivative of the operation that produced it.
#
# Two local rules cover most of the work. Let `out` be the node, `out.grad` its gradient (already
# final when we reach it), and `a`, `b` its children:
#
# ```text
# out = a + b   ->  a.grad += out.grad                 (addition passes the gradient on unchanged)
#                   b.grad += out.grad
# out = a * b   ->  a.grad += b.data * out.grad        (multiplication: the OTHER factor's value
#                   b.grad += a.data * out.grad         times the incoming gradient)
# ```
#
# Note the `+=`. You may find these rules written with `=`, but that is only right when every node
# is used once. When a value feeds several nodes, each use sends its own contribution and
# the contributions must be **added** (previous section). With `=`, the last contribution would
# overwrite the others: `b = a + a` would give `a.grad == 1` instead of `2`.
#
# ### A worked example
#
# Take $a = 2$, $b = -3$, $c = 10$, $f = -2$ and
#
# $$e = a \cdot b = -6, \qquad d = e + c = 4, \qquad L = d \cdot f = -8.$$
#
# Going backwards:
#
# | node | rule | gradient $\partial L / \partial \text{node}$ |
# |---|---|---|
# | $L$ | start | $1$ |
# | $d$ | $L = d \cdot f$: other factor times $L$'s gradient | $f \cdot 1 = -2$ |
# | $f$ | $L = d \cdot f$ | $d \cdot 1 = 4$ |
# | $e$ | $d = e + c$: copy $d$'s gradient | $-2$ |
# | $c$ | $d = e + c$: copy $d$'s gradient | $-2$ |
# | $a$ | $e = a \cdot b$ | $b \cdot (-2) = 6$ |
# | $b$ | $e = a \cdot b$ | $a \cdot (-2) = -4$ |
#
# So if we raise $a$ by a tiny $h$, $L$ grows by about $6h$; raising $b$ lowers $L$ by about $4h$.
# The next cell checks the table with `numeric_derivative`, treating $L$ as an ordinary
# Python function of one input at a time.

# %% nbgrader={"grade": false, "grade_id": "worked_numeric", "locked": true, "schema_version": 3, "solution": false}
def L_of(a=2.0, b=-3.0, c=10.0, f=-2.0):
    return (a * b + c) * f


print("L =", L_of())
print("dL/da ~", round(numeric_derivative(lambda t: L_of(a=t), 2.0), 6))
print("dL/db ~", round(numeric_derivative(lambda t: L_of(b=t), -3.0), 6))
print("dL/dc ~", round(numeric_derivative(lambda t: L_of(c=t), 10.0), 6))
print("dL/df ~", round(numeric_derivative(lambda t: L_of(f=t), -2.0), 6))


# %% [markdown] nbgrader={"grade": false, "grade_id": "magic_md", "locked": true, "schema_version": 3, "solution": false}
# ## 3. Magic methods and the `Value` class
#
# To build the graph automatically we want to write ordinary arithmetic such as `a * b + c` and
# have every operation record what it did. Python makes this possible with **magic methods**
# (also called *dunder* methods, for their double underscores): when Python evaluates `a + b`
# it calls `a.__add__(b)`. The main families:
#
# * **Construction**: `__init__(self, ...)` sets up a new object. (`__new__`, which creates the
#   object before `__init__` runs, and `__del__`, called when it is garbage-collected, exist
#   too, but are rarely needed; avoid them unless there is no other way.)
# * **Arithmetic**: `+` `__add__`, `-` `__sub__`, `*` `__mul__`, `/` `__truediv__`,
#   `//` `__floordiv__`, `%` `__mod__`, `**` `__pow__`, `&` `__and__`, `|` `__or__`,
#   `^` `__xor__`, and the unary minus `-x` `__neg__`.
# * **Text**: `__str__` gives the readable text used by `str(x)`, f-strings and `print(x)`;
#   `__repr__` gives the unambiguous, developer-facing text used by `repr(x)`, by the notebook
#   when a cell ends with `x`, and inside containers such as lists. If a class defines only
#   `__repr__`, then `str()` and `print()` fall back to it. That is why defining `__repr__` alone
#   is enough for the `Value` class below.
# * **Comparison**: `==` `__eq__`, `!=` `__ne__`, `<` `__lt__`, `>` `__gt__`, `<=` `__le__`,
#   `>=` `__ge__`.
#
# One warning for our class: do **not** give `Value` an `__eq__`. A class that defines
# `__eq__` without `__hash__` becomes unhashable, and our graph stores children in sets.
#
# ### The `Value` class
#
# A `Value` wraps one number (`data`) and remembers how it was made:
#
# * `_prev`: the set of `Value`s it was computed from (its children),
# * `_op`: the operation, as a short string such as `'+'` (only for display),
# * `label`: an optional name (only for display),
# * `grad`: $\partial\,\text{output} / \partial\,\text{self}$, `0.0` until `backward()` fills it in,
# * `_backward`: a function, set by the operation that created the node, that applies the
#   backward rule of that operation, i.e. pushes `self.grad` into the children's `grad`.
#   For a leaf (a number we typed in) it does nothing.
#
# **Task.** Complete `__repr__`, `__add__` and `__mul__`. In `__add__` and `__mul__`:
#
# 1. wrap `other` in a `Value` if it is a plain number, so that `a + 1` works;
# 2. create the result `out` with the children `(self, other)` and the operation symbol;
# 3. define a small function `_backward()` that applies the rule from Section 2 (with `+=`) and
#    store it in `out._backward`. The function reads `out.grad` when it is *called*, after the
#    backward pass has filled it in, not when it is defined.

# %% nbgrader={"grade": false, "grade_id": "value_core", "locked": false, "schema_version": 3, "solution": true}
class Value:
    """A scalar that remembers how it was computed, so that gradients can flow back through it."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0                  # d(output)/d(self), filled in by backward()
        self._backward = lambda: None    # applies this node's backward rule; set by the operation
        self._prev = set(_children)      # the Values this one was computed from
        self._op = _op                   # the operation that produced it, for display
        self.label = label               # an optional name, for display

    def __repr__(self) -> str:
        """Return the text `Value(data=..., grad=...)`, for example `Value(data=2.0, grad=0.0)`."""
        ### BEGIN SOLUTION
        return f"Value(data={self.data}, grad={self.grad})"
        ### END SOLUTION

    def __add__(self, other) -> "Value":
        """self + other, where other is a Value or a plain int/float.

        Backward rule: both operands receive out.grad (added to their grad).
        """
        ### BEGIN SOLUTION
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out
        ### END SOLUTION

    def __mul__(self, other) -> "Value":
        """self * other, where other is a Value or a plain int/float.

        Backward rule: each operand receives (the other operand's data) * out.grad.
        """
        ### BEGIN SOLUTION
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "value_demo", "locked": true, "schema_version": 3, "solution": false}
a = Value(2.0, label="a")
b = Value(-3.0, label="b")
c = Value(10.0, label="c")
f = Value(-2.0, label="f")
e = a * b; e.label = "e"
d = e + c; d.label = "d"
L = d * f; L.label = "L"

print(L)                       # print() falls back to __repr__, as Value has no __str__
print(f"L was made by {L._op!r} from", sorted(child.label for child in L._prev))
[a, b, c]                      # the notebook shows a list with repr()

# %% nbgrader={"grade": true, "grade_id": "check_value_forward", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_a, _b, _c, _f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
_e = _a * _b
_d = _e + _c
_L = _d * _f
assert _L.data == -8.0, f"L = (a*b + c) * f should be -8.0 for a=2, b=-3, c=10, f=-2, got {_L.data}"
assert _L._op == "*" and _L._prev == {_d, _f}, "L should remember the operation '*' and its children d and f"
assert _e._prev == {_a, _b} and _d._prev == {_e, _c}, "each result should remember the Values it was computed from"
assert (_a + 1).data == 3.0 and (_a * 4).data == 8.0, "a plain number on the right of + or * should be wrapped in a Value"
assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)", f"repr(Value(2.0)) should be 'Value(data=2.0, grad=0.0)', got {repr(Value(2.0))!r}"
print("Value forward pass: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "more_ops_md", "locked": true, "schema_version": 3, "solution": false}
# ## 4. More operators
#
# Every other operation we need can either reuse `+` and `*` or has a one-line backward rule.
#
# * **Numbers on the left.** For `2 * a` Python first tries `int.__mul__(2, a)`. The integer does
#   not know what a `Value` is and returns `NotImplemented`, so Python then tries the *reflected*
#   method of the right operand, `a.__rmul__(2)`. The same holds for `__radd__`, `__rsub__`
#   and `__rtruediv__`. Mind the order: `2 - a` calls `a.__rsub__(2)` and must compute
#   `2 - a`, not `a - 2`.
# * **Negation and subtraction**: `-a` is `a * -1`, and `a - b` is `a + (-b)`.
# * **Powers** with a constant exponent $n$ (an int or float, not a `Value`): $\frac{d}{dx}x^n = n\,x^{n-1}$,
#   so `self.grad += n * self.data ** (n - 1) * out.grad`.
# * **Division**: $a / b = a \cdot b^{-1}$, so `/` needs no rule of its own once `*` and `**` work.
#
# Instead of writing one huge class, we add these methods to `Value` one section at a time. A
# function stored as an attribute of a class becomes a method; the small decorator below does
# exactly that: `@add_to_class(Value)` followed by `def __neg__(self): ...` makes `-a` work for
# every `Value`.

# %% nbgrader={"grade": false, "grade_id": "add_to_class", "locked": true, "schema_version": 3, "solution": false}
def add_to_class(cls):
    """Decorator: attach the decorated function to the class `cls` as a method of the same name."""
    def attach(method):
        setattr(cls, method.__name__, method)
        method.__qualname__ = f"{cls.__name__}.{method.__name__}"
        return method
    return attach


# %% nbgrader={"grade": false, "grade_id": "value_more_ops", "locked": false, "schema_version": 3, "solution": true}
@add_to_class(Value)
def __radd__(self, other) -> Value:
    """other + self, for a plain number other (for example 2 + a)."""
    ### BEGIN SOLUTION
    return self + other
    ### END SOLUTION


@add_to_class(Value)
def __rmul__(self, other) -> Value:
    """other * self, for a plain number other (for example 2 * a)."""
    ### BEGIN SOLUTION
    return self * other
    ### END SOLUTION


@add_to_class(Value)
def __neg__(self) -> Value:
    """-self."""
    ### BEGIN SOLUTION
    return self * -1
    ### END SOLUTION


@add_to_class(Value)
def __sub__(self, other) -> Value:
    """self - other, where other is a Value or a plain number."""
    ### BEGIN SOLUTION
    return self + (-other)
    ### END SOLUTION


@add_to_class(Value)
def __rsub__(self, other) -> Value:
    """other - self, for a plain number other (for example 2 - a)."""
    ### BEGIN SOLUTION
    return other + (-self)
    ### END SOLUTION


@add_to_class(Value)
def __pow__(self, other) -> Value:
    """self ** other for a constant exponent other (int or float).

    Backward rule: d(x**n)/dx = n * x**(n - 1).
    """
    assert isinstance(other, (int, float)), "only int or float exponents are supported"
    ### BEGIN SOLUTION
    out = Value(self.data ** other, (self,), f"**{other}")

    def _backward():
        self.grad += other * self.data ** (other - 1) * out.grad

    out._backward = _backward
    return out
    ### END SOLUTION


@add_to_class(Value)
def __truediv__(self, other) -> Value:
    """self / other, where other is a Value or a plain number."""
    ### BEGIN SOLUTION
    return self * other ** -1
    ### END SOLUTION


@add_to_class(Value)
def __rtruediv__(self, other) -> Value:
    """other / self, for a plain number other (for example 2 / a)."""
    ### BEGIN SOLUTION
    return other * self ** -1
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "more_ops_demo", "locked": true, "schema_version": 3, "solution": false}
a = Value(4.0)
for text, result in [("2 + a", 2 + a), ("2 * a", 2 * a), ("-a", -a), ("a - 1", a - 1),
                     ("2 - a", 2 - a), ("a ** 3", a ** 3), ("a / 8", a / 8), ("2 / a", 2 / a)]:
    print(f"{text:>7} = {result.data:g}")


# %% [markdown] nbgrader={"grade": false, "grade_id": "topo_md", "locked": true, "schema_version": 3, "solution": false}
# ## 5. Topological order and `backward()`
#
# A node may pass its gradient on to its children only when its own gradient is complete, that
# is, after **every** node that uses it has already sent its contribution. We need an order of
# the nodes that respects the edges of the graph.
#
# A **topological order** of a directed graph lists its vertices so that for every edge
# $u \to v$, $u$ comes before $v$. (The classic use is scheduling: a job may run only after the
# jobs it depends on.) In our graph the edges go from a child to the node computed from it, so
# in a topological order **every node comes after all of its children**, and the output comes
# last. Walking this list **backwards** visits each node before its children: exactly the order
# backpropagation needs.
#
# Two standard ways to compute a topological order:
#
# * **Depth-first search**: visit a node's children first (recursively), then append the node
#   to the list; a `visited` set makes sure each node is added once, even when several parents
#   share it.
# * **Kahn's algorithm**: repeatedly take out a node that nothing else is waiting on.
#
# **Task.** Write `topological_order(root)` (children before parents, each node exactly once,
# `root` last) and `Value.backward()`: sort, set the output's gradient to `1.0` (since
# $\partial L / \partial L = 1$), then call `_backward()` of every node in reverse topological order.
#
# Because gradients accumulate, a second backward pass through the same leaves adds to the old
# gradients. Before a new pass we reset them to `0.0` (`zero_grad` in Section 7, and in PyTorch).

# %% nbgrader={"grade": false, "grade_id": "topo_backward", "locked": false, "schema_version": 3, "solution": true}
def topological_order(root: Value) -> list[Value]:
    """All the Values that `root` depends on, root included, each exactly once,
    ordered so that every Value comes after the Values it was computed from
    (children before parents; root is last)."""
    ### BEGIN SOLUTION
    order = []
    visited = set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)

    visit(root)
    return order
    ### END SOLUTION


@add_to_class(Value)
def backward(self) -> None:
    """Backpropagate from self: afterwards every node's .grad holds d(self)/d(node).

    Sets self.grad to 1.0, then calls _backward() of each node in reverse topological order.
    """
    ### BEGIN SOLUTION
    topo = topological_order(self)
    self.grad = 1.0
    for node in reversed(topo):
        node._backward()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "backward_demo", "locked": true, "schema_version": 3, "solution": false}
a = Value(2.0, label="a")
b = Value(-3.0, label="b")
c = Value(10.0, label="c")
f = Value(-2.0, label="f")
e = a * b; e.label = "e"
d = e + c; d.label = "d"
L = d * f; L.label = "L"

print("topological order:", [node.label for node in topological_order(L)])
L.backward()
for node in [a, b, c, f, e, d, L]:
    print(f"{node.label}: data = {node.data:+5.1f}   grad = {node.grad:+5.1f}")

# %% nbgrader={"grade": true, "grade_id": "check_worked_graph", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_a, _b, _c, _f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
_e = _a * _b
_d = _e + _c
_L = _d * _f
_L.backward()
assert _L.data == -8.0, f"L should be -8.0, got {_L.data}"
assert _L.grad == 1.0, "backward() should set the gradient of the output to 1.0"
assert _d.grad == -2.0 and _f.grad == 4.0, f"L = d * f: expected d.grad = f.data = -2 and f.grad = d.data = 4, got {_d.grad} and {_f.grad}"
assert _e.grad == -2.0 and _c.grad == -2.0, f"d = e + c: e and c should receive d's gradient -2, got {_e.grad} and {_c.grad}"
assert _a.grad == 6.0 and _b.grad == -4.0, f"e = a * b: expected a.grad = 6 and b.grad = -4, got {_a.grad} and {_b.grad}"
_order = topological_order(_L)
assert len(_order) == 7 and len(set(_order)) == 7, "topological_order should list each of the 7 nodes exactly once"
assert _order[-1] is _L, "the root must come last in topological_order"
assert _order.index(_e) < _order.index(_d) < _order.index(_L), "every node must come after its children"
print("worked graph: all checks passed")

# %% nbgrader={"grade": true, "grade_id": "check_accumulate", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_x = Value(3.0)
_y = _x + _x
_y.backward()
assert _x.grad == 2.0, f"for y = x + x the gradient of x should be 2.0, got {_x.grad}: accumulate with += instead of ="
_x = Value(3.0)
_y = _x * _x
_y.backward()
assert _x.grad == 6.0, f"for y = x * x the gradient of x should be 2x = 6.0, got {_x.grad}"
_x = Value(3.0)
_u = _x * 2
_y = _u * _u + _u
_y.backward()
assert _x.grad == 26.0, f"for u = 2x, y = u*u + u the gradient of x should be 2*(2u + 1) = 26.0, got {_x.grad}"
print("gradient accumulation: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "activation_md", "locked": true, "schema_version": 3, "solution": false}
# ## 6. Activation functions
#
# **Why do we need them?** A linear layer computes $Wx + b$. Two linear layers in a row compute
# $W_2(W_1x + b_1) + b_2 = (W_2W_1)x + (W_2b_1 + b_2)$, which is again a single linear layer: a
# product of matrices is just another matrix. However many linear layers we stack, the network
# can only represent linear functions. A non-linear **activation function** between the layers
# breaks this and lets the network learn curved decision boundaries.
#
# **tanh**, the hyperbolic tangent:
#
# $$\tanh x = \frac{\sinh x}{\cosh x} = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = \frac{e^{2x} - 1}{e^{2x} + 1}.$$
#
# Its outputs lie in $(-1, 1)$, those of the **sigmoid** $\sigma(x) = \frac{1}{1 + e^{-x}}$ in
# $(0, 1)$. The two have the same S shape; in fact $\tanh x = 2\sigma(2x) - 1$, so tanh is a sigmoid
# stretched to the range $(-1, 1)$ and squeezed horizontally. Their derivatives:
#
# $$\sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr), \qquad \tanh'(x) = 1 - \tanh^2(x).$$
#
# At $x = 0$: $\sigma'(0) = 0.5 \cdot 0.5 = 0.25$, but $\tanh'(0) = 1$. Near zero, tanh passes back
# gradients up to four times larger, so the weights get larger updates. Its output is also
# centred on zero, which often helps training converge faster. Both functions **saturate**: far
# from zero their derivative is almost 0, and almost no gradient flows through them.
#
# Two more operations: $\frac{d}{dx}e^x = e^x$, and the rectified linear unit
# $\text{relu}(x) = \max(0, x)$ has derivative 1 for $x > 0$ and 0 for $x < 0$ (at exactly 0 we
# use 0, like PyTorch).
#
# **A practical tip.** All four derivatives can be written with the *output* of the function,
# which `out.data` already holds: $\tanh' = 1 - \text{out}^2$, $\sigma' = \text{out}(1-\text{out})$,
# $(e^x)' = \text{out}$, $\text{relu}' = [\text{out} > 0]$. Take care to use `out.data`, not the
# input `self.data`, where the formula needs the output.
#
# **Task.** Implement `tanh`, `exp`, `relu` and `sigmoid` as new operations with their own
# `_backward` (each has a single child, `self`). Compute the forward values with the `math`
# module. `math.tanh` is safer than the $e^{2x}$ formula, which overflows for large $x$. For the
# sigmoid, `1 / (1 + math.exp(-x))` overflows for very negative $x$; use
# `math.exp(x) / (1 + math.exp(x))` there.

# %% nbgrader={"grade": false, "grade_id": "value_activations", "locked": false, "schema_version": 3, "solution": true}
@add_to_class(Value)
def tanh(self) -> Value:
    """tanh(self). Backward rule: d tanh(x)/dx = 1 - tanh(x)**2."""
    ### BEGIN SOLUTION
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t ** 2) * out.grad

    out._backward = _backward
    return out
    ### END SOLUTION


@add_to_class(Value)
def exp(self) -> Value:
    """e ** self. Backward rule: d e**x/dx = e**x."""
    ### BEGIN SOLUTION
    out = Value(math.exp(self.data), (self,), "exp")

    def _backward():
        self.grad += out.data * out.grad

    out._backward = _backward
    return out
    ### END SOLUTION


@add_to_class(Value)
def relu(self) -> Value:
    """max(0, self). Backward rule: gradient 1 where the input is positive, 0 elsewhere."""
    ### BEGIN SOLUTION
    out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

    def _backward():
        self.grad += (1.0 if out.data > 0 else 0.0) * out.grad

    out._backward = _backward
    return out
    ### END SOLUTION


@add_to_class(Value)
def sigmoid(self) -> Value:
    """1 / (1 + e**-self). Backward rule: d sigma(x)/dx = sigma(x) * (1 - sigma(x))."""
    ### BEGIN SOLUTION
    x = self.data
    s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
    out = Value(s, (self,), "sigmoid")

    def _backward():
        self.grad += s * (1 - s) * out.grad

    out._backward = _backward
    return out
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "neuron_md", "locked": true, "schema_version": 3, "solution": false}
# ### A neuron by hand
#
# A neuron with two inputs computes $o = \tanh(x_1w_1 + x_2w_2 + b)$. With $x_1 = 2$, $x_2 = 0$,
# $w_1 = -3$, $w_2 = 1$ and the bias $b = 6.8813735870195432$, the sum is $n \approx 0.8814$ and
# $o = \tanh(n) \approx 0.7071$. Then $\frac{do}{dn} = 1 - o^2 = 0.5$. The sum passes $0.5$ on to
# $b$ and to both products, and each product multiplies it by the other factor: $x_1$ gets
# $w_1 \cdot 0.5 = -1.5$, $w_1$ gets $x_1 \cdot 0.5 = 1$, $x_2$ gets $0.5$, and $w_2$ gets
# $x_2 \cdot 0.5 = 0$. Because $x_2 = 0$, the weight $w_2$ had no influence on the output, so it
# gets no gradient.

# %% nbgrader={"grade": false, "grade_id": "neuron_demo", "locked": true, "schema_version": 3, "solution": false}
x1 = Value(2.0, label="x1"); x2 = Value(0.0, label="x2")
w1 = Value(-3.0, label="w1"); w2 = Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b
o = n.tanh()
o.backward()
print(f"n = {n.data:.4f}, o = {o.data:.4f}")
for v in [x1, w1, x2, w2, b]:
    print(f"d o / d {v.label} = {v.grad:+.4f}")

for name in ["tanh", "sigmoid"]:
    z = Value(0.0)
    getattr(z, name)().backward()
    print(f"derivative of {name} at 0: {z.grad}")

# %% nbgrader={"grade": true, "grade_id": "check_tanh_neuron", "locked": true, "points": 0, "schema_version": 3, "solution": false}
_x1, _x2, _w1, _w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
_b = Value(6.8813735870195432)
_o = (_x1 * _w1 + _x2 * _w2 + _b).tanh()
_o.backward()
assert abs(_o.data - 0.7071067811865476) < 1e-9, f"the neuron's output should be 0.7071 (= 1/sqrt 2), got {_o.data}"
for _name, _v, _want in [("x1", _x1, -1.5), ("w1", _w1, 1.0), ("x2", _x2, 0.5), ("w2", _w2, 0.0), ("b", _b, 0.5)]:
    assert abs(_v.grad - _want) < 1e-9, f"gradient of the neuron's output with respect to {_name} should be {_want}, got {_v.grad}"
print("tanh neuron: all checks passed")


# %% nbgrader={"grade": true, "grade_id": "check_activations", "locked": true, "points": 0, "schema_version": 3, "solution": false}
def _grad_at(name, x):
    _v = Value(x)
    getattr(_v, name)().backward()
    return _v.grad

assert abs(_grad_at("tanh", 0.0) - 1.0) < 1e-12, "the derivative of tanh at 0 should be 1"
assert abs(_grad_at("sigmoid", 0.0) - 0.25) < 1e-12, "the derivative of sigmoid at 0 should be 0.25"
assert abs(Value(0.0).sigmoid().data - 0.5) < 1e-12, "sigmoid(0) should be 0.5"
assert abs(_grad_at("exp", 1.0) - math.e) < 1e-12, "the derivative of exp at 1 should be e"
assert _grad_at("relu", -1.0) == 0.0 and _grad_at("relu", 2.0) == 1.0, "relu's derivative should be 0 for negative inputs and 1 for positive ones"
assert Value(-1.0).relu().data == 0.0, "relu(-1) should be 0"
_exact = {  # the derivatives written out, so that this check does not rely on your numeric_derivative
    "tanh": lambda t: 1 - math.tanh(t) ** 2,
    "exp": math.exp,
    "sigmoid": lambda t: math.exp(-t) / (1 + math.exp(-t)) ** 2,
}
for _name, _deriv in _exact.items():
    for _x in [-1.3, 0.4, 2.0]:
        _want = _deriv(_x)
        assert abs(_grad_at(_name, _x) - _want) < 1e-9, f"gradient of {_name} at {_x} should be {_want:.9f}, got {_grad_at(_name, _x)}"
_v = Value(0.7)
(_v.exp() + _v).backward()
assert abs(_v.grad - (math.exp(0.7) + 1)) < 1e-9, \
    f"for y = exp(v) + v the gradient of v should be exp(0.7) + 1 = {math.exp(0.7) + 1:.6f}, got {_v.grad}: exp's backward must add to v.grad (+=), not overwrite it"
print("activation functions: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "mlp_md", "locked": true, "schema_version": 3, "solution": false}
# ## 7. Neurons, layers and a multilayer perceptron
#
# With `Value` in place a neural network is only a few lines of code:
#
# * a **`Neuron(nin)`** holds `nin` weights and one bias, each drawn from
#   `random.uniform(-1, 1)`; called on a list `x` of `nin` numbers it returns
#   $\tanh(\sum_i w_i x_i + b)$. Its `parameters()` are its weights followed by its bias;
# * a **`Layer(nin, nout)`** holds `nout` independent neurons that all see the same input; it
#   returns the list of their outputs, or the single output itself when `nout == 1` (so that a
#   network with one output produces one `Value`, not a list);
# * an **`MLP(nin, nouts)`** chains layers of sizes `nouts`: `MLP(3, [4, 4, 1])` maps 3 inputs
#   to 4 hidden units, then 4 more hidden units, then 1 output.
#
# Every module can list its `parameters()` (the trainable `Value`s, in a fixed order: layer by
# layer, neuron by neuron) and reset their gradients with `zero_grad()`. `MLP(3, [4, 4, 1])` has
# $(3+1)\cdot 4 + (4+1)\cdot 4 + (4+1)\cdot 1 = 16 + 20 + 5 = 41$ parameters.
#
# **Task.** Complete the classes. `Module.zero_grad` is shared by all three.

# %% nbgrader={"grade": false, "grade_id": "mlp", "locked": false, "schema_version": 3, "solution": true}
class Module:
    """Base class of Neuron, Layer and MLP."""

    def parameters(self) -> list[Value]:
        """The trainable Values of this module."""
        return []

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0.0."""
        ### BEGIN SOLUTION
        for p in self.parameters():
            p.grad = 0.0
        ### END SOLUTION


class Neuron(Module):
    """One tanh neuron with `nin` inputs."""

    def __init__(self, nin: int):
        """Draw nin weights and one bias from random.uniform(-1, 1)."""
        ### BEGIN SOLUTION
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))
        ### END SOLUTION

    def __call__(self, x) -> Value:
        """tanh(w . x + b) for a list x of nin numbers or Values."""
        ### BEGIN SOLUTION
        activation = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return activation.tanh()
        ### END SOLUTION

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        ### BEGIN SOLUTION
        return self.w + [self.b]
        ### END SOLUTION


class Layer(Module):
    """`nout` neurons, each with `nin` inputs."""

    def __init__(self, nin: int, nout: int):
        ### BEGIN SOLUTION
        self.neurons = [Neuron(nin) for _ in range(nout)]
        ### END SOLUTION

    def __call__(self, x):
        """The list of the neurons' outputs, or the single output Value when nout == 1."""
        ### BEGIN SOLUTION
        outs = [neuron(x) for neuron in self.neurons]
        return outs[0] if len(outs) == 1 else outs
        ### END SOLUTION

    def parameters(self) -> list[Value]:
        """The parameters of the first neuron, then of the second, and so on."""
        ### BEGIN SOLUTION
        return [p for neuron in self.neurons for p in neuron.parameters()]
        ### END SOLUTION


class MLP(Module):
    """A multilayer perceptron: nin inputs, then layers of the sizes in `nouts`."""

    def __init__(self, nin: int, nouts: list[int]):
        ### BEGIN SOLUTION
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1]) for i in range(len(nouts))]
        ### END SOLUTION

    def __call__(self, x):
        """Feed x through the layers in order and return the last layer's output."""
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def parameters(self) -> list[Value]:
        """The parameters of the first layer, then of the second, and so on."""
        ### BEGIN SOLUTION
        return [p for layer in self.layers for p in layer.parameters()]
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_mlp", "locked": true, "points": 0, "schema_version": 3, "solution": false}
random.seed(SEED)
_model = MLP(3, [4, 4, 1])
_params = _model.parameters()
assert len(_params) == 41, f"MLP(3, [4, 4, 1]) should have 41 parameters, got {len(_params)}"
assert len({id(p) for p in _params}) == 41, "each parameter should be listed once"
assert all(-1 <= p.data <= 1 for p in _params), "weights and biases should start in [-1, 1]"
assert len(Neuron(3).parameters()) == 4 and len(Layer(3, 4).parameters()) == 16, "a Neuron(3) has 4 parameters, a Layer(3, 4) has 16"
assert isinstance(_model([1.0, 2.0, 3.0]), Value), "an MLP with one output should return one Value"
assert len(Layer(3, 4)([1.0, 2.0, 3.0])) == 4, "Layer(3, 4) should return a list of 4 Values"
_neuron = Neuron(2)
for _p, _val in zip(_neuron.parameters(), [0.5, -1.0, 0.25]):
    _p.data = _val
assert abs(_neuron([2.0, 1.0]).data - math.tanh(0.5 * 2.0 - 1.0 * 1.0 + 0.25)) < 1e-12, "a neuron should compute tanh(w . x + b), weights first, then the bias"
_out = _model([1.0, 2.0, 3.0])
_out.backward()
_model.zero_grad()
assert all(p.grad == 0.0 for p in _model.parameters()), "zero_grad() should set every parameter's gradient to 0.0"
print("MLP: all checks passed")


# %% [markdown] nbgrader={"grade": false, "grade_id": "training_md", "locked": true, "schema_version": 3, "solution": false}
# ## 8. Gradient descent
#
# Our dataset has four examples with three features each and a target of $+1$ or $-1$. We
# measure how wrong the network is with the **squared-error loss**
#
# $$\text{loss} = \sum_{i} (\hat y_i - y_i)^2,$$
#
# summed over the examples, as in micrograd. (The function is called `mse_loss`, but it does
# not divide by the number of examples. A mean would only scale the gradient by $1/4$, the
# same as a four times smaller learning rate.)
#
# Each parameter's gradient says how much the loss *increases* when that parameter increases.
# To decrease the loss we move every parameter a small step against its gradient:
#
# $$p \leftarrow p - \text{lr} \cdot \frac{\partial\,\text{loss}}{\partial p}.$$
#
# One **training step**:
#
# 1. `model.zero_grad()`. Gradients accumulate, so without this every step would add the new
#    gradients to the ones from all earlier steps;
# 2. forward pass: predict every example;
# 3. compute the loss;
# 4. `loss.backward()`;
# 5. update every parameter: `p.data -= lr * p.grad`. (We change `.data` directly: the update
#    itself is not part of the graph.)
#
# **Task.** Implement `mse_loss`, `train_step` (it returns the loss measured *before* the update,
# as a plain float) and `train` (the list of those losses, one per step).

# %% nbgrader={"grade": false, "grade_id": "training", "locked": false, "schema_version": 3, "solution": true}
def mse_loss(preds, targets) -> Value:
    """Sum over the examples of (prediction - target) ** 2 (a sum, not a mean, as in micrograd).

    preds: list of Values; targets: list of numbers.
    """
    ### BEGIN SOLUTION
    return sum((pred - target) ** 2 for pred, target in zip(preds, targets))
    ### END SOLUTION


def train_step(model, xs, ys, lr: float) -> float:
    """One step of gradient descent on the whole dataset (xs, ys).

    Zero the gradients, predict every x in xs, compute mse_loss against ys, backpropagate,
    then update every parameter with p.data -= lr * p.grad. After the call, each parameter's
    .grad holds the gradient of this step's loss. Returns that loss (before the update) as a float.
    """
    ### BEGIN SOLUTION
    model.zero_grad()
    preds = [model(x) for x in xs]
    loss = mse_loss(preds, ys)
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data
    ### END SOLUTION


def train(model, xs, ys, steps: int, lr: float) -> list[float]:
    """Run `steps` training steps and return the list of their losses."""
    ### BEGIN SOLUTION
    return [train_step(model, xs, ys, lr) for _ in range(steps)]
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "training_demo", "locked": true, "schema_version": 3, "solution": false}
xs = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
]
ys = [1.0, -1.0, -1.0, 1.0]   # the targets

random.seed(SEED)
model = MLP(3, [4, 4, 1])
steps = 20 if FAST else 100
losses = train(model, xs, ys, steps=steps, lr=0.05)
for step in range(0, steps, max(1, steps // 10)):
    print(f"step {step:3d}: loss = {losses[step]:.4f}")
print(f"final loss: {losses[-1]:.4f}")
print("predictions:", [round(model(x).data, 3) for x in xs], "targets:", ys)

# %% nbgrader={"grade": true, "grade_id": "check_training", "locked": true, "points": 0, "schema_version": 3, "solution": false}
random.seed(SEED)
_model = MLP(3, [4, 4, 1])
_losses = train(_model, xs, ys, steps=20, lr=0.05)
assert len(_losses) == 20 and all(isinstance(_l, float) for _l in _losses), "train() should return one float loss per step"
assert _losses[-1] < _losses[0], f"the loss should go down during training: first {_losses[0]:.4f}, last {_losses[-1]:.4f}"
_params = [p.data for p in _model.parameters()]
_l0 = train_step(_model, xs, ys, lr=0.0)
_l1 = train_step(_model, xs, ys, lr=0.0)
assert [p.data for p in _model.parameters()] == _params, "with lr=0 a training step must not change the parameters"
assert _l0 == _l1, "with lr=0 two training steps should report the same loss"
print("training: all checks passed")

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false}
# ## Summary
#
# * The derivative is the slope of the tangent: how much the output moves per tiny nudge of the
#   input. The central difference estimates it numerically, which is handy for checking gradients.
# * The chain rule multiplies local derivatives along a path and adds up the contributions of
#   all paths. That is why backward rules use `+=`.
# * Backpropagation visits the graph in reverse topological order. `+` passes the gradient on
#   unchanged, `*` multiplies it by the other operand, and every other operation has its own
#   local rule.
# * tanh passes back larger gradients than the sigmoid (1 versus 0.25 at zero) and is centred on
#   zero. Both saturate for large inputs.
# * With a few dozen lines of Python we trained a small network by gradient descent. PyTorch's
#   `autograd`, next week, works the same way on tensors instead of scalars.
