"""Static policy: reject obviously hostile or hopeless source before anything runs.

This is the first, cheap layer. It is not what keeps the host safe (the sandboxed worker
and the data-only program boundary do that); it exists to give an agent a precise,
early message and to shrink what the later layers see.
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Mapping
from typing import Any

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.reasons import CandidateRejected, Reason

FUNCTION_NAME = "activation_function"

ALLOWED_MODULES = frozenset(
    {"jax", "jax.numpy", "jax.nn", "jax.lax", "jax.scipy", "jax.scipy.special", "math"}
)

# Attributes of the `jax` package itself a candidate may touch; everything else on `jax`
# (callbacks, debug, experimental, config, device placement...) is refused by name.
ALLOWED_JAX_ATTRIBUTES = frozenset({"numpy", "nn", "lax", "scipy", "grad", "vmap"})

# Attribute names refused on any object: file I/O on jax.numpy, and string formatting,
# whose `{0.__class__}` fields would reach attributes the policy refuses by name.
FORBIDDEN_ATTRIBUTES = frozenset(
    {"load", "save", "savez", "fromfile", "tofile", "loadtxt", "savetxt", "genfromtxt"}
    | {"memmap", "format", "format_map", "ctypes"}
)

# Introspection of generators, coroutines, frames, tracebacks and code objects: a
# generator expression's `gi_frame.f_back` walks up to the worker's frames, whose
# globals hold `os` and the real builtins.
FORBIDDEN_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_")

SAFE_BUILTIN_NAMES = [
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "enumerate",
    "filter",
    "float",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "pow",
    "range",
    "reversed",
    "round",
    "sorted",
    "sum",
    "tuple",
    "zip",
    "ValueError",
    "ArithmeticError",
]

FORBIDDEN_NODES: tuple[type[ast.AST], ...] = (
    ast.ClassDef,
    ast.AsyncFunctionDef,
    ast.AsyncFor,
    ast.AsyncWith,
    ast.Await,
    ast.With,
    ast.Try,
    ast.TryStar,
    ast.Global,
    ast.Nonlocal,
    ast.Yield,
    ast.YieldFrom,
    ast.Delete,
    ast.Match,  # class patterns read attributes named in strings, past the attribute check
)

_PARSE_RECURSION_LIMIT = 2_000


def safe_builtins() -> dict[str, Any]:
    """The only builtins a candidate's module sees.

    `__import__` stays the real one: import statements were vetted by the policy, and C
    code (jaxlib) imports through the builtins of the Python frame that called it, which
    is the candidate's; a candidate cannot name `__import__` itself (dunder names are
    refused), so only vetted statements reach it.
    """
    namespace = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
    namespace["__import__"] = builtins.__import__
    return namespace


def parse_candidate(source: str, limits: CandidateLimits) -> ast.Module:
    """Check sizes, parse, and apply the policy; raise CandidateRejected on any failure."""
    check_size(source, limits)
    tree = _parse(source)
    nodes = list(ast.walk(tree))
    if len(nodes) > limits.max_ast_nodes:
        raise CandidateRejected(
            Reason.SOURCE_TOO_LARGE,
            f"The program has {len(nodes)} syntax nodes; the limit is {limits.max_ast_nodes}.",
        )
    for node in nodes:
        _check_node(node)
    _check_jax_only_as_namespace(nodes)
    _check_has_function(tree)
    return tree


def check_size(source: str, limits: CandidateLimits) -> None:
    if not source.strip():
        raise CandidateRejected(Reason.EMPTY_SOURCE, "The source is empty.")
    if len(source) > limits.max_source_chars:
        raise CandidateRejected(
            Reason.SOURCE_TOO_LARGE,
            f"The source has {len(source)} characters; the limit is {limits.max_source_chars}.",
        )
    lines = len(source.splitlines()) or 1  # every line ending counts, bare "\r" included
    if lines > limits.max_source_lines:
        raise CandidateRejected(
            Reason.SOURCE_TOO_LARGE,
            f"The source has {lines} lines; the limit is {limits.max_source_lines}.",
        )
    if "\x00" in source:
        raise CandidateRejected(Reason.SYNTAX_ERROR, "The source contains a NUL character.")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CandidateRejected(
            Reason.INVALID_ACTION,
            f"The source is not valid Unicode text: a lone surrogate at index {error.start}.",
        ) from None


def _parse(source: str) -> ast.Module:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _PARSE_RECURSION_LIMIT))
    try:
        return ast.parse(source, filename="<candidate>", mode="exec")
    except SyntaxError as error:
        raise CandidateRejected(Reason.SYNTAX_ERROR, f"line {error.lineno}: {error.msg}.") from None
    except (RecursionError, MemoryError) as error:
        raise CandidateRejected(
            Reason.SYNTAX_ERROR,
            f"The source could not be parsed ({type(error).__name__}): nesting is too deep.",
        ) from None
    except ValueError as error:
        raise CandidateRejected(
            Reason.SYNTAX_ERROR, f"The source could not be parsed: {str(error)[:200]}"
        ) from None
    finally:
        sys.setrecursionlimit(previous)


def _check_node(node: ast.AST) -> None:
    line = getattr(node, "lineno", "?")
    if isinstance(node, FORBIDDEN_NODES):
        raise CandidateRejected(
            Reason.POLICY_VIOLATION, f"line {line}: `{type(node).__name__}` is not allowed."
        )
    if isinstance(node, ast.Import):
        for alias in node.names:
            _check_module(alias.name, line)
            if alias.name == "jax" and alias.asname not in (None, "jax"):
                raise CandidateRejected(
                    Reason.POLICY_VIOLATION,
                    f"line {line}: import `jax` under its own name (not as `{alias.asname}`).",
                )
    elif isinstance(node, ast.ImportFrom):
        if node.level or node.module is None:
            raise CandidateRejected(
                Reason.POLICY_VIOLATION, f"line {line}: relative imports are not allowed."
            )
        for alias in node.names:
            if alias.name == "*":
                raise CandidateRejected(
                    Reason.POLICY_VIOLATION, f"line {line}: `import *` is not allowed."
                )
            _check_from_import(node.module, alias.name, line)
    elif isinstance(node, ast.Name) and node.id.startswith("__"):
        raise CandidateRejected(
            Reason.POLICY_VIOLATION, f"line {line}: the name `{node.id}` is not allowed."
        )
    elif isinstance(node, ast.Attribute):
        _check_attribute(node, line)
    elif isinstance(node, ast.FunctionDef | ast.Lambda):
        _check_arguments(node.args, line)


def _check_module(module: str, line: object) -> None:
    if module not in ALLOWED_MODULES:
        allowed = ", ".join(sorted(ALLOWED_MODULES))
        raise CandidateRejected(
            Reason.POLICY_VIOLATION,
            f"line {line}: importing `{module}` is not allowed; allowed modules: {allowed}.",
        )


def _check_from_import(module: str, name: str, line: object) -> None:
    if f"{module}.{name}" in ALLOWED_MODULES:
        return
    _check_module(module, line)
    if module == "jax" and name not in ALLOWED_JAX_ATTRIBUTES:
        raise CandidateRejected(
            Reason.POLICY_VIOLATION, f"line {line}: `from jax import {name}` is not allowed."
        )
    if name.startswith("_"):
        raise CandidateRejected(
            Reason.POLICY_VIOLATION, f"line {line}: importing `{name}` is not allowed."
        )


def _check_attribute(node: ast.Attribute, line: object) -> None:
    if node.attr in FORBIDDEN_ATTRIBUTES:
        raise CandidateRejected(
            Reason.POLICY_VIOLATION, f"line {line}: the attribute `{node.attr}` is not allowed."
        )
    if node.attr.startswith(FORBIDDEN_ATTRIBUTE_PREFIXES):
        raise CandidateRejected(
            Reason.POLICY_VIOLATION,
            f"line {line}: the attribute `{node.attr}` is not allowed (no generator, frame "
            "or code introspection).",
        )
    if node.attr.startswith("_"):
        raise CandidateRejected(
            Reason.POLICY_VIOLATION,
            f"line {line}: the attribute `{node.attr}` is not allowed (leading underscore).",
        )
    if (
        isinstance(node.value, ast.Name)
        and node.value.id == "jax"
        and node.attr not in ALLOWED_JAX_ATTRIBUTES
    ):
        allowed = ", ".join(sorted(ALLOWED_JAX_ATTRIBUTES))
        raise CandidateRejected(
            Reason.POLICY_VIOLATION,
            f"line {line}: `jax.{node.attr}` is not allowed; on `jax` use only: {allowed}.",
        )


def _check_jax_only_as_namespace(nodes: list[ast.AST]) -> None:
    """`jax` may only be read as `jax.<attribute>`: bound to another name or passed around,
    the package would carry `jax.debug`, `jax.experimental`... past the attribute check."""
    bases = {id(node.value) for node in nodes if isinstance(node, ast.Attribute)}
    for node in nodes:
        if (
            isinstance(node, ast.Name)
            and node.id == "jax"
            and isinstance(node.ctx, ast.Load)
            and id(node) not in bases
        ):
            raise CandidateRejected(
                Reason.POLICY_VIOLATION,
                f"line {node.lineno}: `jax` may only be used as `jax.<attribute>`.",
            )


def _check_arguments(args: ast.arguments, line: object) -> None:
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None and arg.arg.startswith("__"):
            raise CandidateRejected(
                Reason.POLICY_VIOLATION, f"line {line}: the argument `{arg.arg}` is not allowed."
            )


def _check_has_function(tree: ast.Module) -> None:
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == FUNCTION_NAME:
            _check_signature(statement.args, statement.lineno)
            return
    raise CandidateRejected(
        Reason.MISSING_FUNCTION, f"No top-level `def {FUNCTION_NAME}(x):` was found."
    )


def _check_signature(args: ast.arguments, line: int) -> None:
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    required_keyword = sum(default is None for default in args.kw_defaults)
    if required != 1 or required_keyword:
        raise CandidateRejected(
            Reason.BAD_SIGNATURE,
            f"line {line}: `{FUNCTION_NAME}` must take exactly one required positional "
            f"argument; it takes {required} (and {required_keyword} required keyword-only).",
        )


def module_globals(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A fresh global namespace for executing a candidate module."""
    namespace: dict[str, Any] = {"__builtins__": safe_builtins(), "__name__": "candidate"}
    if extra:
        namespace.update(extra)
    return namespace
