"""The search space of "Searching for Activation Functions" (Ramachandran, Zoph, Le, 2017).

A random or evolutionary baseline needs a generator that only produces programs worth
scoring: every candidate emitted here is plain, allow-listed JAX that is finite and has
finite gradients everywhere, so a baseline's budget goes on search rather than on NaNs.

An activation is built from core units `b(u1(x1), u2(x2))`: two unary operators feed one
binary operator. The first unit reads `x` twice; each further unit combines the previous
unit's output with `x`, with an earlier unit, or with a fresh unit over `x` (in either
slot), which is the paper's repeated core-unit structure. `depth` counts the units on
that chain.

Where the paper's operator is unsafe, the emitted form is:
  sqrt(x)         sqrt(|x| + eps)              defined for x < 0, slope finite at 0
  log(|x|)        log(|x| + eps)               finite at 0
  sinc(x)         sinc(0) for |x| < 1e-4       jnp.sinc's slope is NaN for |x| < 1e-19
  exp, sinh, cosh argument clipped to [-20, 20] never overflows float32
  x1 / x2         x1 * x2 / (x2^2 + eps)       equals x1 / x2 once |x2| >> sqrt(eps), is
                                               continuous through x2 = 0 (sign flips
                                               smoothly) and its slope stays finite
The input and every core unit's output are clipped to [-BOUND, BOUND], so stacked
squares, cubes and products cannot overflow float32 at any depth or for any finite
input; far outside any useful range, this changes nothing a network would notice.
eps is 1e-3; beta is drawn per use from BETAS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

EPS = 1e-3
BOUND = 1e4
BETAS = (0.1, 0.25, 0.5, 0.75, 1.5, 2.0)  # no 1.0: `1.0 * x` or a 1/0 mix is wasted
INPUT = "x"
T = TypeVar("T")
HEADER = f"""import jax
import jax.numpy as jnp


def activation_function(x):
    # x and every unit b_k are kept in [{-BOUND:g}, {BOUND:g}] so nothing overflows float32
    x = jnp.clip(x, {-BOUND}, {BOUND})
"""


@dataclass(frozen=True)
class Op:
    """How to write one operator: `code` is Python, `infix` the formula for comments.

    Both are `str.format` templates over the operands `a` and `b`, `beta` and `rest`
    (1 - beta); in `infix`, `pa` and `pb` are the operands parenthesized where `compound`
    (an infix form such as `x + 0.5` that needs parentheses inside a product).
    """

    code: str
    infix: str
    compound: bool = False

    @property
    def uses_beta(self) -> bool:
        return "{beta}" in self.code


def _clipped(function: str) -> str:
    return f"{function}(jnp.clip({{a}}, -20.0, 20.0))"


UNARY_OPS: Mapping[str, Op] = {
    "identity": Op("{a}", "{a}"),
    "neg": Op("-{a}", "-{a}", compound=True),
    "abs": Op("jnp.abs({a})", "|{a}|"),
    "square": Op("jnp.square({a})", "{a}^2"),
    "cube": Op("{a} ** 3", "{a}^3"),
    "sqrt": Op(f"jnp.sqrt(jnp.abs({{a}}) + {EPS})", "sqrt({a})"),
    "scale": Op("{beta} * {a}", "{beta} * {a}", compound=True),
    "shift": Op("{a} + {beta}", "{a} + {beta}", compound=True),
    "log": Op(f"jnp.log(jnp.abs({{a}}) + {EPS})", "log(|{a}|)"),
    "exp": Op(_clipped("jnp.exp"), "exp({a})"),
    "sin": Op("jnp.sin({a})", "sin({a})"),
    "cos": Op("jnp.cos({a})", "cos({a})"),
    "sinh": Op(_clipped("jnp.sinh"), "sinh({a})"),
    "cosh": Op(_clipped("jnp.cosh"), "cosh({a})"),
    "tanh": Op("jnp.tanh({a})", "tanh({a})"),
    "asinh": Op("jnp.arcsinh({a})", "asinh({a})"),
    "atan": Op("jnp.arctan({a})", "atan({a})"),
    "sinc": Op("jnp.sinc(jnp.where(jnp.abs({a}) < 1e-4, 0.0, {a}))", "sinc({a})"),
    "max0": Op("jnp.maximum({a}, 0.0)", "max({a}, 0)"),
    "min0": Op("jnp.minimum({a}, 0.0)", "min({a}, 0)"),
    "sigmoid": Op("jax.nn.sigmoid({a})", "sigmoid({a})"),
    "softplus": Op("jax.nn.softplus({a})", "softplus({a})"),
    "gaussian": Op("jnp.exp(-jnp.square({a}))", "exp(-{a}^2)"),
    "erf": Op("jax.lax.erf({a})", "erf({a})"),
}

BINARY_OPS: Mapping[str, Op] = {
    "add": Op("{a} + {b}", "{a} + {pb}"),
    "mul": Op("{a} * {b}", "{pa} * {pb}"),
    "sub": Op("{a} - {b}", "{a} - {pb}"),
    "div": Op(f"{{a}} * {{b}} / (jnp.square({{b}}) + {EPS})", "{pa} / {pb}"),
    "max": Op("jnp.maximum({a}, {b})", "max({a}, {b})"),
    "min": Op("jnp.minimum({a}, {b})", "min({a}, {b})"),
    "gate": Op("jax.nn.sigmoid({a}) * {b}", "sigmoid({a}) * {pb}"),
    "rbf": Op("jnp.exp(-{beta} * jnp.square({a} - {b}))", "exp(-{beta} * ({a} - {pb})^2)"),
    "laplace": Op("jnp.exp(-{beta} * jnp.abs({a} - {b}))", "exp(-{beta} * |{a} - {pb}|)"),
    "mix": Op("{beta} * {a} + {rest} * {b}", "{beta} * {pa} + {rest} * {pb}"),
}

# The operators by arity: the input leaf, unary, binary.
TABLES: tuple[Mapping[str, Op], ...] = ({INPUT: Op(INPUT, INPUT)}, UNARY_OPS, BINARY_OPS)


@dataclass(frozen=True)
class Expr:
    """An immutable expression node: the input leaf `x`, or an operator over `args`.

    A unary node's argument is `x` or a core unit; a binary node (a core unit) has two
    unary nodes as arguments. `beta` is set exactly when the operator uses it.
    """

    op: str = INPUT
    args: tuple[Expr, ...] = ()
    beta: float | None = None

    def __post_init__(self) -> None:
        if len(self.args) >= len(TABLES) or self.op not in TABLES[len(self.args)]:
            raise ValueError(f"unknown operator {self.op!r} with {len(self.args)} arguments")
        if (self.beta is not None) != self.spec.uses_beta:
            raise ValueError(f"operator {self.op!r} got beta={self.beta}")

    @property
    def spec(self) -> Op:
        return TABLES[len(self.args)][self.op]


X = Expr()


# ----------------------------------------------------------------------------------------
# Drawing


def random_expression(rng: np.random.Generator, depth: int = 1) -> Expr:
    """A chain of `depth` core units; each after the first reads the previous one."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    units = [random_unit(rng)]
    for _ in range(depth - 1):
        other = _random_operand(rng, units)
        pair = (units[-1], other) if rng.random() < 0.5 else (other, units[-1])
        units.append(random_unit(rng, *pair))
    return units[-1]


def random_unit(rng: np.random.Generator, left: Expr = X, right: Expr = X) -> Expr:
    """One core unit `b(u1(left), u2(right))` with random operators and betas."""
    unaries = (_random_node(rng, UNARY_OPS, (left,)), _random_node(rng, UNARY_OPS, (right,)))
    return _random_node(rng, BINARY_OPS, unaries)


def _random_operand(rng: np.random.Generator, units: Sequence[Expr]) -> Expr:
    """`x` half the time, else an earlier unit or a fresh branch over `x`."""
    draw = rng.random()
    if draw < 0.5:
        return X
    if draw < 0.75:
        return units[rng.integers(len(units))]
    return random_unit(rng)


def _random_node(rng: np.random.Generator, table: Mapping[str, Op], args: tuple) -> Expr:
    op = _pick(rng, tuple(table))
    return Expr(op, args, _pick(rng, BETAS) if table[op].uses_beta else None)


def _pick(rng: np.random.Generator, options: Sequence[T], avoid: T | None = None) -> T:
    choices = [option for option in options if option != avoid]
    return choices[rng.integers(len(choices))]


# ----------------------------------------------------------------------------------------
# Mutation


def mutate(expr: Expr, rng: np.random.Generator) -> Expr:
    """Change one uniformly chosen node: its operator, its beta, or the subtree itself.

    An `x` under a unary grows into a fresh core unit; a core unit may be replaced by a
    fresh one over `x` (shrinking the tree); otherwise the operator or beta is redrawn.
    """
    paths = _paths(expr)
    path = paths[rng.integers(len(paths))]
    return _replace_at(expr, path, _mutate_node(_node_at(expr, path), rng))


def _mutate_node(node: Expr, rng: np.random.Generator) -> Expr:
    if node == X:
        return random_unit(rng)
    kinds = ["operator"] + ["beta"] * (node.beta is not None) + ["unit"] * (len(node.args) == 2)
    kind = _pick(rng, kinds)
    if kind == "beta":
        return replace(node, beta=_pick(rng, BETAS, avoid=node.beta))
    if kind == "unit":
        return random_unit(rng)
    table = TABLES[len(node.args)]
    op = _pick(rng, tuple(table), avoid=node.op)
    return Expr(op, node.args, _pick(rng, BETAS) if table[op].uses_beta else None)


def _paths(expr: Expr, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    return [prefix] + [
        path for i, arg in enumerate(expr.args) for path in _paths(arg, (*prefix, i))
    ]


def _node_at(expr: Expr, path: tuple[int, ...]) -> Expr:
    return _node_at(expr.args[path[0]], path[1:]) if path else expr


def _replace_at(expr: Expr, path: tuple[int, ...], node: Expr) -> Expr:
    if not path:
        return node
    args = list(expr.args)
    args[path[0]] = _replace_at(args[path[0]], path[1:], node)
    return replace(expr, args=tuple(args))


# ----------------------------------------------------------------------------------------
# Writing source


def to_source(expr: Expr) -> str:
    """The candidate module: one local per distinct unary (`u1`) and core unit (`b1`).

    Equal subtrees share a local; identity unaries write no line. Each core unit is
    preceded by a comment with its formula, e.g. `# b1 = sigmoid(x) * sin(x)`.
    """
    writer = _Writer()
    result = writer.name(expr)
    return HEADER + "".join(f"    {line}\n" for line in writer.lines) + f"    return {result}\n"


class _Writer:
    """Assigns local names in evaluation order and collects the body's lines."""

    def __init__(self) -> None:
        self.names: dict[Expr, str] = {X: INPUT}
        self.infix: dict[Expr, str] = {X: INPUT}
        self.lines: list[str] = []
        self.counts = {"u": 0, "b": 0}

    def name(self, node: Expr) -> str:
        if node not in self.names:
            for grandchild in (inner for arg in node.args for inner in arg.args):
                self.name(grandchild)  # units below first: each unit's lines stay together
            operands = [self.name(arg) for arg in node.args]
            self.infix[node] = self._infix(node)
            code = _format(node, node.spec.code, operands)
            self.names[node] = code if node.op == "identity" else self._assign(node, code)
        return self.names[node]

    def _infix(self, node: Expr) -> str:
        if len(node.args) == 1:
            return _format(node, node.spec.infix, [self.names[node.args[0]]])
        operands = [self.infix[arg] for arg in node.args]
        wrapped = [
            f"({text})" if arg.spec.compound else text
            for arg, text in zip(node.args, operands, strict=True)
        ]
        return _format(node, node.spec.infix, operands, wrapped)

    def _assign(self, node: Expr, code: str) -> str:
        prefix = "u" if len(node.args) == 1 else "b"
        self.counts[prefix] += 1
        local = f"{prefix}{self.counts[prefix]}"
        if prefix == "b":
            self.lines.append(f"# {local} = {self.infix[node]}")
            code = f"jnp.clip({code}, {-BOUND}, {BOUND})"
        self.lines.append(f"{local} = {code}")
        return local


def _format(
    node: Expr, template: str, operands: Sequence[str], wrapped: Sequence[str] | None = None
) -> str:
    """Fill a template; `wrapped` gives the parenthesized operands binary infix forms use."""
    beta = node.beta if node.beta is not None else 0.0
    wrapped = wrapped or operands
    return template.format(
        a=operands[0],
        b=operands[-1],
        pa=wrapped[0],
        pb=wrapped[-1],
        beta=beta,
        rest=round(1.0 - beta, 3),
    )
