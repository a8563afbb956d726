"""Tests of the random grammar: reproducible, covers every operator, emits only safe code.

"Safe" is checked the way a trainer would meet it: every emitted module compiles, defines
`activation_function`, and gives finite float32 values and finite elementwise gradients on
a wide grid that contains 0 exactly.
"""

import ast
from collections.abc import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from actgym.agents import grammar
from actgym.agents.grammar import BINARY_OPS, UNARY_OPS, Expr, X

# A float32 linspace misses 0 (by 1.7e-6), where the kinks sit, so 0 is added along with
# tiny and huge inputs. One shape for every check keeps JAX's eager caches warm.
GRID = jnp.linspace(-20.0, 20.0, 4001, dtype=jnp.float32)
EXTREMES = jnp.array([0.0, -0.0, 1e-30, -1e-30, 1e-4, 1e6, -1e6, 3e38, -3e38], jnp.float32)
POINTS = jnp.concatenate([GRID, EXTREMES])


def _sources(seed: int, count: int, depth: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    return [grammar.to_source(grammar.random_expression(rng, depth)) for _ in range(count)]


def _load(source: str) -> Callable[[jax.Array], jax.Array]:
    namespace: dict = {}
    exec(compile(source, "<candidate>", "exec"), namespace)
    return namespace["activation_function"]


def _assert_safe(source: str) -> None:
    function = _load(source)
    values = function(POINTS)
    slopes = jax.vmap(jax.grad(lambda v: function(v)))(POINTS)
    assert values.shape == POINTS.shape and values.dtype == jnp.float32, source
    assert bool(jnp.all(jnp.isfinite(values))), source
    assert slopes.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(slopes))), source


def _nodes(expr: Expr) -> Iterator[Expr]:
    yield expr
    for arg in expr.args:
        yield from _nodes(arg)


def _unit(binary: str, first: Expr, second: Expr, beta: float | None = None) -> Expr:
    return Expr(binary, (first, second), beta)


def _unary(op: str, arg: Expr = X) -> Expr:
    return Expr(op, (arg,), 0.5 if UNARY_OPS[op].uses_beta else None)


def test_same_seed_same_sources_and_different_seeds_differ() -> None:
    assert _sources(0, 20) == _sources(0, 20)
    assert _sources(0, 20) != _sources(1, 20)
    assert len(set(_sources(0, 50))) > 45


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_every_drawn_source_is_finite_with_finite_slopes(depth: int) -> None:
    for source in _sources(100 + depth, 75, depth):
        _assert_safe(source)


@pytest.mark.parametrize("op", list(UNARY_OPS))
def test_every_unary_operator_is_safe(op: str) -> None:
    inner = _unit("add", _unary(op), _unary("identity"))
    expr = _unit("mul", _unary(op, inner), _unary("sin"))
    _assert_safe(grammar.to_source(expr))


@pytest.mark.parametrize("op", list(BINARY_OPS))
def test_every_binary_operator_is_safe(op: str) -> None:
    beta = 0.5 if BINARY_OPS[op].uses_beta else None
    for first, second in [("identity", "sin"), ("cube", "square"), ("exp", "identity")]:
        expr = _unit(op, _unary(first), _unary(second), beta)
        _assert_safe(grammar.to_source(expr))


def test_every_operator_is_drawn() -> None:
    rng = np.random.default_rng(3)
    drawn = {node.op for _ in range(400) for node in _nodes(grammar.random_expression(rng, 2))}
    assert set(UNARY_OPS) <= drawn
    assert set(BINARY_OPS) <= drawn


def test_depth_counts_the_chain_of_units() -> None:
    rng = np.random.default_rng(4)
    for depth in (1, 2, 3, 5):
        expr = grammar.random_expression(rng, depth)
        units = sum(len(node.args) == 2 for node in _nodes(expr))
        assert units >= depth
        assert grammar.to_source(expr).count("# b") >= depth
    with pytest.raises(ValueError, match="depth"):
        grammar.random_expression(rng, 0)


def test_source_is_readable_and_names_each_step() -> None:
    expr = _unit("mul", _unary("sigmoid"), _unary("sin"))
    assert grammar.to_source(expr) == (
        "import jax\n"
        "import jax.numpy as jnp\n"
        "\n"
        "\n"
        "def activation_function(x):\n"
        "    # x and every unit b_k are kept in [-10000, 10000] so nothing overflows float32\n"
        "    x = jnp.clip(x, -10000.0, 10000.0)\n"
        "    u1 = jax.nn.sigmoid(x)\n"
        "    u2 = jnp.sin(x)\n"
        "    # b1 = sigmoid(x) * sin(x)\n"
        "    b1 = jnp.clip(u1 * u2, -10000.0, 10000.0)\n"
        "    return b1\n"
    )


def test_stacked_units_reuse_locals_and_parenthesize_compound_operands() -> None:
    first = _unit("max", _unary("neg"), _unary("shift"))
    second = _unit("div", _unary("identity", first), _unary("scale"))
    source = grammar.to_source(_unit("sub", _unary("tanh", second), _unary("tanh", second)))
    assert "# b1 = max(-x, x + 0.5)" in source
    assert "# b2 = b1 / (0.5 * x)" in source
    assert "# b3 = tanh(b2) - tanh(b2)" in source
    assert "b3 = jnp.clip(u4 - u4, -10000.0, 10000.0)" in source
    assert source.count("jnp.tanh") == 1


def test_sources_use_only_plain_allowed_python() -> None:
    for source in _sources(5, 100, 3):
        tree = ast.parse(source)
        imports = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert imports <= {"jax", "jax.numpy"}
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert not any(name.startswith("_") for name in names | attributes)
        assert [type(node) for node in tree.body] == [ast.Import, ast.Import, ast.FunctionDef]
        body = tree.body[-1].body
        assert all(isinstance(node, ast.Assign) for node in body[:-1])
        assert isinstance(body[-1], ast.Return)


def test_expressions_reject_unknown_operators_and_misplaced_betas() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        Expr("tan", (X,))
    with pytest.raises(ValueError, match="unknown operator"):
        Expr("sin", (X, X))
    with pytest.raises(ValueError, match="beta"):
        Expr("scale", (X,))
    with pytest.raises(ValueError, match="beta"):
        Expr("sin", (X,), 0.5)


def test_mutate_usually_changes_the_expression_and_is_reproducible() -> None:
    def lineage(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        expr = grammar.random_expression(rng, 2)
        children = []
        for _ in range(200):
            child = grammar.mutate(expr, rng)
            children.append(child)
            expr = child if len(list(_nodes(child))) < 40 else expr
        return [grammar.to_source(child) for child in children]

    assert lineage(6) == lineage(6)
    assert lineage(6) != lineage(7)
    rng = np.random.default_rng(8)
    parents = [grammar.random_expression(rng, 1 + i % 3) for i in range(300)]
    changed = sum(grammar.mutate(parent, rng) != parent for parent in parents)
    assert changed >= 285


def test_mutants_stay_valid_and_safe() -> None:
    rng = np.random.default_rng(9)
    for _ in range(20):
        expr = grammar.random_expression(rng, 1)
        for _ in range(4):
            expr = grammar.mutate(expr, rng)
        _assert_safe(grammar.to_source(expr))
