"""One-line activation expressions: what a small model completes, and how it is checked.

A 135M model cannot be trusted with whole programs or SEARCH/REPLACE edits, but it can
continue `return ` after a few examples. Its line is cut, repaired (parentheses closed,
a dangling operator or half-written name dropped, the slips of `edits.repair`, a function
looked up in the wrong namespace) and accepted only if it is an expression in `x` built
from the functions below: anything else is an unusable reply, never scored as code.
Everything here is text and `ast`: nothing the model wrote is executed.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from actgym.agents.edits import Extraction, repair_slips

# Elementwise functions a candidate may call, by namespace; all pass the candidate checks.
JNP_FUNCTIONS = frozenset(
    {"abs", "maximum", "minimum", "tanh", "sin", "cos", "arctan", "arcsinh", "sinh", "cosh"}
    | {"exp", "expm1", "log1p", "log", "sqrt", "square", "sign", "clip", "where", "sinc"}
    | {"power", "logaddexp", "cbrt", "exp2", "reciprocal", "hypot", "absolute"}
)
NN_FUNCTIONS = frozenset(
    {"relu", "relu6", "gelu", "silu", "swish", "sigmoid", "softplus", "elu", "selu", "celu"}
    | {"leaky_relu", "log_sigmoid", "soft_sign", "hard_tanh", "hard_sigmoid", "hard_silu"}
    | {"hard_swish", "mish", "squareplus", "tanh"}
)
# How many arguments (positional and keyword) a call takes, where not exactly one.
ARITY = {
    **dict.fromkeys(("maximum", "minimum", "power", "logaddexp", "hypot"), (2, 2)),
    **dict.fromkeys(("leaky_relu", "elu", "celu", "squareplus", "gelu"), (1, 2)),
    "where": (3, 3),
    "clip": (1, 3),
}
# Two-argument functions that a missing second argument of 0 makes sense of.
AGAINST_ZERO = frozenset({"maximum", "minimum", "logaddexp", "hypot"})
JNP_CONSTANTS = frozenset({"pi", "e"})
SPECIAL_FUNCTIONS = frozenset({"erf"})
# Valid in a reply, but not offered to a small model while it decodes: it writes them
# unguarded (`jnp.exp(x)`, `jnp.log(x)`), and the networks overflow or go NaN in training.
UNGUARDED_FUNCTIONS = frozenset(
    {"exp", "exp2", "expm1", "sinh", "cosh", "power", "log", "log1p", "sqrt", "reciprocal"}
    | {"cbrt"}  # an infinite derivative at 0
)


@dataclass(frozen=True)
class Names:
    """The names a line being written may use: functions it calls, and values. With
    `new_calls` False a name begun now can only become a value (the line may not open
    another call)."""

    calls: frozenset[str]
    values: frozenset[str]
    new_calls: bool = True

    @functools.cached_property
    def prefixes(self) -> frozenset[str]:
        names = self.calls | self.values if self.new_calls else self.values
        return frozenset(name[:end] for name in names for end in range(1, len(name) + 1))

    def accept(self, text: str) -> bool:
        """Whether every name in `text` is, or may still become, one of these: a name
        followed by `(` must be a call, by anything else a value, and one at the end
        a prefix of either (numbers such as `1e-3` are no names). A call needs arguments,
        and no name hides behind a number (`2x`) or a stray dot (`f(x).max`)."""
        if _EMPTY_CALL.search(text) or _HIDDEN_NAME.search(text):
            return False
        for match in _NAME.finditer(text):
            name, after = match.group(), text[match.end() :].lstrip(" ")
            if match.end() == len(text):
                known = name in self.prefixes
            elif not after:
                known = name in (self.calls | self.values if self.new_calls else self.values)
            else:
                known = name in (self.calls if after[0] == "(" else self.values)
            if not known:
                return False
        return True


_NAME = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*")
_EMPTY_CALL = re.compile(r"\(\s*\)")
_HIDDEN_NAME = re.compile(r"(?<![\w.])\d(?>[\d.]*(?:e[-+]?\d*)?)[A-Za-z_(]|(?<!\w)\.\s*[A-Za-z_]")

# What the in-process backend lets a small model write (llm.transformers.TransformersBackend):
# x, the constants, and the safe functions, also under the namespace that `repaired`
# moves them out of.
DECODING_NAMES = Names(
    calls=frozenset(
        f"{namespace}.{name}"
        for namespace in ("jnp", "jax.nn")
        for name in (JNP_FUNCTIONS | NN_FUNCTIONS) - UNGUARDED_FUNCTIONS
    )
    | {f"jax.scipy.special.{name}" for name in SPECIAL_FUNCTIONS},
    values=frozenset({"x"} | {f"jnp.{name}" for name in JNP_CONSTANTS}),
)

# What a completed expression may contain; the in-process backend samples only tokens
# made of these characters (llm.transformers.TransformersBackend).
EXPRESSION_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_.,()+-*/<> "

_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Name,
    ast.Constant,
    ast.Load,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)
_PAIRWISE = {"max": "maximum", "min": "minimum"}
_CUT = re.compile(r"[-+*/,]")
_DANGLING = " \t+-*/,.(<>"


class UnusableExpression(ValueError):
    pass


def expression_program(expression: str) -> str:
    """The full candidate source around a `return` expression."""
    imports = ["import jax", "import jax.numpy as jnp"]
    if "jax.scipy" in expression:
        imports.append("import jax.scipy.special")
    header = "\n".join(imports)
    return f"{header}\n\n\ndef activation_function(x):\n    return {expression}\n"


def complete_expression(reply: str, examples: Iterable[str] = ()) -> Extraction:
    """The program a completion of `return ` proposes, or why there is none.

    A repeat of an example in the prompt is unusable too: it is no new function.
    """
    line = reply.split("\n", 1)[0].split("#", 1)[0].strip().rstrip(";:")
    if not line:
        return Extraction(None, reason="the model wrote no expression", kind="completion")
    try:
        expression, repairs = best_prefix(line)
    except UnusableExpression as error:
        return Extraction(None, reason=str(error), kind="completion")
    if _canonical(expression) in {_canonical(example) for example in examples}:
        return Extraction(
            None, reason="the expression repeats an example in the prompt", kind="completion"
        )
    return Extraction(expression_program(expression), repairs=repairs, kind="completion")


def best_prefix(line: str) -> tuple[str, tuple[str, ...]]:
    """The longest repaired prefix of the line that is a valid expression."""
    first_error: UnusableExpression | None = None
    for cut, prefix in enumerate(_prefixes(line)):
        try:
            expression, repairs = repaired(prefix)
        except UnusableExpression as error:
            first_error = first_error or error
            continue
        return expression, repairs + (("cut trailing text",) if cut else ())
    raise first_error or UnusableExpression("the model wrote no expression")


def _prefixes(line: str) -> Iterator[str]:
    """The line, then shorter and shorter prefixes ending before an operator or comma."""
    yield line
    for match in reversed(list(_CUT.finditer(line))):
        if match.start() > 0:
            yield line[: match.start()]


def repaired(text: str) -> tuple[str, tuple[str, ...]]:
    """Balance parentheses, fix namespaces and validate; raise UnusableExpression if bad."""
    applied = []
    balanced = _balanced(text)
    if balanced != text.strip():
        applied.append("closed the expression")
    source, fixes = repair_slips(balanced)
    applied.extend(fixes)
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise UnusableExpression("the completion is not a Python expression") from None
    if _fix_namespaces(tree):
        applied.append("called function")
    if _second_argument_zero(tree):
        applied.append("second argument 0")
    validate(tree)
    return ast.unparse(tree), tuple(applied)


def _balanced(text: str) -> str:
    """Cut at a closing parenthesis that closes nothing, drop dangling tokens, close the rest."""
    depth = 0
    for index, character in enumerate(text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            text = text[:index]
            break
    text = text.rstrip(_DANGLING)
    return text + ")" * (text.count("(") - text.count(")"))


def _fix_namespaces(tree: ast.AST) -> bool:
    """`jnp.relu` -> `jax.nn.relu`, `jax.nn.sin` -> `jnp.sin`, `jnp.max(x, 0)` ->
    `jnp.maximum(x, 0)`: the model's usual mix-ups (the reductions' second argument would
    be an axis)."""
    changed = False
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        namespace, name = _namespace(node.func), node.func.attr
        if namespace == "jnp" and name in _PAIRWISE and len(node.args) == 2:
            node.func.attr = _PAIRWISE[name]
            changed = True
        elif namespace == "jnp" and name not in JNP_FUNCTIONS and name in NN_FUNCTIONS:
            node.func.value = ast.Attribute(ast.Name("jax", ast.Load()), "nn", ast.Load())
            changed = True
        elif namespace == "jax.nn" and name not in NN_FUNCTIONS and name in JNP_FUNCTIONS:
            node.func.value = ast.Name("jnp", ast.Load())
            changed = True
    return changed


def _second_argument_zero(tree: ast.AST) -> bool:
    """`jnp.maximum(x)` -> `jnp.maximum(x, 0.0)`: a small model's usual reading of a
    two-argument function given one (a ReLU, and softplus for `logaddexp`)."""
    changed = False
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in AGAINST_ZERO
            and len(node.args) == 1
            and not node.keywords
        ):
            node.args.append(ast.Constant(0.0))
            changed = True
    return changed


def validate(tree: ast.AST) -> None:
    """Only arithmetic in `x`, numbers and the allowed functions; `x` must appear."""
    if isinstance(getattr(tree, "body", None), ast.Compare):
        raise UnusableExpression("the expression is a comparison, not a number")
    uses_x = False
    namespaces = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise UnusableExpression(f"the expression uses {type(node).__name__}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise UnusableExpression("the expression holds a constant that is not a number")
        if isinstance(node, ast.Name):
            if node.id != "x" and (node.id not in ("jnp", "jax") or id(node) not in namespaces):
                raise UnusableExpression(f"the expression uses an unknown name `{node.id}`")
            uses_x = uses_x or node.id == "x"
        if isinstance(node, ast.Attribute) and not _known(node, tree):
            raise UnusableExpression(f"the expression uses an unknown `{ast.unparse(node)}`")
        if isinstance(node, ast.Call):
            _check_arity(node)
    if not uses_x:
        raise UnusableExpression("the expression does not depend on x")


def _check_arity(call: ast.Call) -> None:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    low, high = ARITY.get(name, (1, 1))
    if not low <= len(call.args) + len(call.keywords) <= high:
        raise UnusableExpression(f"`{ast.unparse(call.func)}` is called with the wrong arguments")


def _known(node: ast.Attribute, tree: ast.AST) -> bool:
    called = any(isinstance(call, ast.Call) and call.func is node for call in ast.walk(tree))
    namespace = _namespace(node)
    inner = {"jax": ("nn", "scipy"), "jax.scipy": ("special",)}  # links of `jax.nn.f`
    if namespace in inner:
        return node.attr in inner[namespace]
    if not called:
        return namespace == "jnp" and node.attr in JNP_CONSTANTS
    known = {"jnp": JNP_FUNCTIONS, "jax.nn": NN_FUNCTIONS, "jax.scipy.special": SPECIAL_FUNCTIONS}
    return node.attr in known.get(namespace, frozenset())


def _namespace(node: ast.Attribute) -> str:
    try:
        return ast.unparse(node.value)
    except (ValueError, TypeError):
        return ""


def _canonical(expression: str) -> str:
    try:
        return ast.dump(ast.parse(expression.strip(), mode="eval"))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return expression.strip()
