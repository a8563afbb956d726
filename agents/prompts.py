"""Prompts for language-model mutation: chat prompts for capable models, and completion
prompts that let a small model write only a function body after valid examples."""

from __future__ import annotations

import re
from collections.abc import Sequence

from actgym.agents.program_database import ArchiveEntry

SYSTEM = """You design activation functions for small MLPs. A candidate is Python source \
defining `def activation_function(x):` where x is one example's float32 vector of hidden \
pre-activations; it must return a float32 array of the same shape. Use only jax, \
jax.numpy (as jnp), jax.nn, jax.lax, jax.scipy.special and math; no other imports, no \
I/O, no names starting with an underscore, no loops that depend on values of x. Keep the \
function cheap (a few elementwise operations) and finite everywhere, including its \
derivative at x = 0. Networks are trained on one input range and tested on another: the \
goal is better extrapolation (lower out-of-distribution loss) than ReLU."""

REWRITE = """Reply with one line `Rationale: <why this should extrapolate better>`, then \
the complete new program in a single ```python block."""

DIFF = """Reply with one line `Rationale: <why this should extrapolate better>`, then one or \
more edits of the parent program in exactly this form:
<<<<<<< SEARCH
<lines copied exactly from the parent>
=======
<replacement lines>
>>>>>>> REPLACE"""


def chat_prompt(
    task: str,
    parent: ArchiveEntry | None,
    inspirations: Sequence[ArchiveEntry],
    failures: Sequence[ArchiveEntry],
    mode: str,
) -> list[dict[str, str]]:
    parts = [f"Task: {task}"]
    if parent is not None:
        parts.append(f"Parent program ({describe(parent)}):\n```python\n{parent.source}```")
    for index, program in enumerate(inspirations, 1):
        parts.append(f"Inspiration {index} ({describe(program)}):\n```python\n{program.source}```")
    if failures:
        lines = "\n".join(f"- {program.status}: {program.message[:200]}" for program in failures)
        parts.append(f"Recent candidates that were rejected, and why:\n{lines}")
    goal = "Improve on the parent." if parent is not None else "Propose a new function."
    parts.append(f"{goal} {DIFF if mode == 'diff' and parent is not None else REWRITE}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def describe(program: ArchiveEntry) -> str:
    return f"reward {program.reward:+.4f}, {program.flops_per_element:.0f} FLOPs per element"


COMPLETION_HEADER = """# Activation functions for neural networks, written with jax.numpy.
# Each maps a float32 array x to an array of the same shape; a higher reward is better.
# Each returns one new expression in x built from numbers, + - * / and functions such as
# jnp.tanh, jnp.sin, jnp.abs, jnp.maximum, jax.nn.gelu, jax.nn.silu, jax.nn.softplus.
import jax
import jax.numpy as jnp

"""

FEW_SHOT = (
    "jnp.maximum(x, 0.0)",
    "jnp.tanh(x) + 0.1 * x",
    "jax.nn.gelu(x) + 0.1 * jnp.sin(x)",
    "x * jax.nn.sigmoid(1.5 * x)",
    "jax.nn.softplus(x) - 0.5 * jnp.cos(x)",
)

_RETURN = re.compile(r"^    return (.+)$", re.MULTILINE)


def completion_prompt(examples: Sequence[tuple[str, float | None]]) -> str:
    """Valid examples (body expression, reward), ascending, then an open `return`."""
    blocks = []
    for expression, reward in examples:
        label = f"  # reward {reward:+.3f}" if reward is not None else ""
        blocks.append(f"def activation_function(x):{label}\n    return {expression}\n")
    return COMPLETION_HEADER + "\n".join(blocks) + "\ndef activation_function(x):\n    return "


def prompt_expressions(prompt: str) -> list[str]:
    """The example expressions a completion prompt shows, to tell a repeat from a new one."""
    return _RETURN.findall(prompt)


def return_expression(source: str) -> str | None:
    """The expression of a one-line `return` in a program, for use as a few-shot example."""
    lines = [line.strip() for line in source.splitlines()]
    returns = [line[len("return ") :] for line in lines if line.startswith("return ")]
    body = [line for line in lines if line and not line.startswith(("import", "from", "def", "#"))]
    return returns[0] if len(returns) == 1 and len(body) == 1 else None
