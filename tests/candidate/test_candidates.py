"""Every reason code of the candidate pipeline, reached by a candidate a user could send."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sources import GELU_SINE, RELU, activation

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.reasons import HINTS, CandidateRejected, Reason
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.reward import PENALTY

REJECTED: dict[str, tuple[object, Reason]] = {
    "not a string": (42, Reason.INVALID_ACTION),
    "bytes not utf-8": (b"\xff\xfe def", Reason.INVALID_ACTION),
    "empty": ("   \n", Reason.EMPTY_SOURCE),
    "too long": ("#" * 20_000, Reason.SOURCE_TOO_LARGE),
    "too many lines": ("\n" * 500 + RELU, Reason.SOURCE_TOO_LARGE),
    "syntax error": ("def activation_function(x):\n    return (x +\n", Reason.SYNTAX_ERROR),
    "NUL character": (RELU + "\x00", Reason.SYNTAX_ERROR),
    "deep nesting": ("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n" + RELU, Reason.SYNTAX_ERROR),
    "import os": ("import os\n" + RELU, Reason.POLICY_VIOLATION),
    "dunder": (activation("x.__class__"), Reason.POLICY_VIOLATION),
    "open": (activation("open('/etc/passwd')"), Reason.RUNTIME_ERROR),
    "jax.debug": (activation("jax.debug.print('{}', x) or x"), Reason.POLICY_VIOLATION),
    "no function": ("import jax\n\ndef act(x):\n    return x\n", Reason.MISSING_FUNCTION),
    "not callable": ("activation_function = 3\n", Reason.MISSING_FUNCTION),
    "wrong arity": ("def activation_function(x, y):\n    return x\n", Reason.BAD_SIGNATURE),
    "no argument": ("def activation_function():\n    return 1.0\n", Reason.BAD_SIGNATURE),
    "raises": (activation("x + undefined_name"), Reason.RUNTIME_ERROR),
    "python control flow on tracer": (
        "def activation_function(x):\n    return x if x > 0 else -x\n",
        Reason.RUNTIME_ERROR,
    ),
    "while loop": (
        activation("jax.lax.while_loop(lambda v: v[0] < 1e9, lambda v: v + 1.0, x)"),
        Reason.FORBIDDEN_PRIMITIVE,
    ),
    "callback via lax": (
        activation("jax.lax.cond(x[0] > 0, lambda v: v, lambda v: -v, x)"),
        Reason.FORBIDDEN_PRIMITIVE,
    ),
    "shape change": (activation("x[:3]"), Reason.BAD_OUTPUT),
    "scalar output": (activation("jnp.sum(x)"), Reason.BAD_OUTPUT),
    "dtype change": (activation("x.astype(jnp.int32)"), Reason.BAD_OUTPUT),
    "two outputs": (activation("(x, x)"), Reason.BAD_OUTPUT),
    "huge intermediate": (
        activation("x + jnp.sum(jnp.ones((4096, 4096)) * x[0])"),
        Reason.PROGRAM_TOO_LARGE,
    ),
    "huge constant": (
        "import jax.numpy as jnp\nimport math\nC = jnp.arange(100000.0)\n\n"
        "def activation_function(x):\n    return x + jnp.sum(C * x[0])\n",
        Reason.PROGRAM_TOO_LARGE,
    ),
    "too many operations": (
        "import jax.numpy as jnp\n\ndef activation_function(x):\n"
        "    for i in range(3000):\n        x = x + 1.0\n    return x\n",
        Reason.PROGRAM_TOO_LARGE,
    ),
    "over budget": (
        "import jax.numpy as jnp\n\ndef activation_function(x):\n"
        "    y = x\n    for i in range(40):\n        y = jnp.sin(y)\n    return y\n",
        Reason.COST_OVER_BUDGET,
    ),
    "NaN everywhere": (activation("x * jnp.nan"), Reason.NONFINITE_OUTPUT),
    "NaN for negative inputs": (activation("jnp.sqrt(x)"), Reason.NONFINITE_OUTPUT),
    "overflow": (activation("jnp.exp(x * 10.0)"), Reason.NONFINITE_OUTPUT),
    "infinite gradient at 0": (activation("jnp.sqrt(jnp.abs(x))"), Reason.NONFINITE_GRADIENT),
    "diverges in training": (activation("x * 1e18"), Reason.NONFINITE_LOSS),
    "memory blow-up": (
        "import jax.numpy as jnp\nA = jnp.ones((2_000_000_000,))\n" + RELU,
        Reason.MEMORY_LIMIT,
    ),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejections_have_reason_message_and_penalty(evaluator: Evaluator, name: str) -> None:
    source, reason = REJECTED[name]
    result = evaluator.evaluate(source)
    assert result.status == reason.value, result.message
    assert result.reward == PENALTY
    assert result.message.endswith(HINTS[reason])
    assert len(result.message) > len(HINTS[reason]) + 10


LOOP_FOREVER = "def activation_function(x):\n    while True:\n        pass\n"


@contextlib.contextmanager
def limited_evaluator(config: EvaluationConfig, **limits: float) -> Iterator[Evaluator]:
    """An evaluator with its own sandbox limits (short ones keep timeout tests fast)."""
    evaluator = Evaluator(dataclasses.replace(config, limits=CandidateLimits(**limits)))
    try:
        yield evaluator
    finally:
        evaluator.close()


def test_infinite_loop_times_out_with_the_limit_named(fast_config: EvaluationConfig) -> None:
    with limited_evaluator(fast_config, trace_timeout_s=1.5, cpu_seconds=10) as quick:
        result = quick.evaluate(LOOP_FOREVER)
        assert result.status == Reason.TIMEOUT.value
        assert "1.5 s" in result.message
        assert quick.evaluate(RELU).ok, "the evaluator keeps working after a timeout"


def session_members(session: int) -> list[int]:
    """Pids of live processes in a session (from /proc; field 6 of stat is the session)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_killed_worker_leaves_no_process_behind(fast_config: EvaluationConfig) -> None:
    with limited_evaluator(fast_config, trace_timeout_s=1.0, cpu_seconds=10) as quick:
        assert quick.evaluate(LOOP_FOREVER).status == Reason.TIMEOUT.value
        server = quick.sandbox.server_pid
        assert server is not None
        assert session_members(server) == [server]
    assert session_members(server) == []


def test_cpu_limit_is_reported(fast_config: EvaluationConfig) -> None:
    with limited_evaluator(fast_config, trace_timeout_s=20, cpu_seconds=1) as quick:
        result = quick.evaluate(LOOP_FOREVER)
        assert result.status == Reason.TIMEOUT.value
        assert "CPU-time limit of 1 s" in result.message


def test_valid_candidates_score_after_rejections(evaluator: Evaluator) -> None:
    before = evaluator.evaluate(GELU_SINE)
    for source, _ in REJECTED.values():
        evaluator.evaluate(source)
    after = evaluator.evaluate(GELU_SINE)
    assert before.ok and after.ok
    assert before == after


def test_relu_scores_zero_and_reference_reward_is_relative(evaluator: Evaluator) -> None:
    relu = evaluator.evaluate(RELU)
    assert relu.ok and relu.reward == 0.0
    gelu_sine = evaluator.evaluate(GELU_SINE)
    assert gelu_sine.reward != 0.0
    assert gelu_sine.flops_per_element > relu.flops_per_element


def test_check_raises_for_rejected_source(evaluator: Evaluator) -> None:
    with pytest.raises(CandidateRejected) as error:
        evaluator.check("import socket\n" + RELU)
    assert error.value.reason is Reason.POLICY_VIOLATION
    assert "socket" in error.value.message
