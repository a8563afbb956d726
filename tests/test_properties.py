"""Whatever arrives as an action, evaluation answers: no exception, no hang, a finite reward.

Hypothesis generates random text (odd Unicode included), random bytes and non-strings,
and random small programs from a grammar of jax.numpy expressions, some of them spliced
with hostile fragments. The examples are derandomised so CI sees the same ones each run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from actgym.cache import JsonCache
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.reasons import HINTS, Reason
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.reward import DOWNSIDE_FLOOR, PENALTY
from actgym.trainer import TrainerConfig

LIMITS = CandidateLimits(trace_timeout_s=2, cpu_seconds=3)
# Tracing is cut at 2 s; what remains is one fast training run, which takes seconds.
MAX_SECONDS = LIMITS.trace_timeout_s + 60
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

UNARY = [
    "jnp.sin({})",
    "jnp.tanh({})",
    "jnp.exp({})",
    "jnp.log({})",
    "jnp.sqrt({})",
    "jnp.abs({})",
    "jax.nn.relu({})",
    "jax.nn.sigmoid({})",
    "jnp.sign({})",
    "jnp.floor({})",
    "(-{})",
    "jnp.sort({})",
    "{}[::-1]",
    "jnp.mean({}) + 0 * x",
    "jnp.cumsum({})",
    "{}.astype(jnp.float16)",
    "jax.lax.stop_gradient({})",
]
BINARY = [
    "({} + {})",
    "({} - {})",
    "({} * {})",
    "({} / {})",
    "({} ** {})",
    "jnp.maximum({}, {})",
    "jnp.minimum({}, {})",
    "jnp.where({} > 0, {}, x)",
    "jnp.arctan2({}, {})",
]
CONSTANTS = ["0.0", "-0.0", "1.0", "0.5", "3.0", "1e30", "1e-30", "2", "jnp.inf", "jnp.nan"]
HOSTILE = [
    "import os",
    "x = x.__class__",
    "jax.debug.print('{}', x)",
    "x = jax.lax.while_loop(lambda v: True, lambda v: v, x)",
    "x = x[:3]",
    "y = (v for v in [x]).gi_frame",
    "x = open('/tmp/actgym-property-marker', 'w')",
    "return",
]


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.just("x"), st.sampled_from(CONSTANTS))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(str.format, st.sampled_from(UNARY), inner),
            st.builds(str.format, st.sampled_from(BINARY), inner, inner),
        ),
        max_leaves=8,
    )


@st.composite
def programs(draw: st.DrawFn) -> str:
    body = [f"    y = {draw(expressions())}"]
    if draw(st.booleans()):
        body.insert(draw(st.integers(0, 1)), f"    {draw(st.sampled_from(HOSTILE))}")
    body.append(f"    return {draw(st.sampled_from(['y', 'y + 0 * x', 'x * 0 + y']))}")
    header = "import jax\nimport jax.numpy as jnp\n\n\ndef activation_function(x):\n"
    return header + "\n".join(body) + "\n"


ENCODABLE = st.characters(codec="utf-8")  # no lone surrogates: these reach the parser
TEXTS = st.one_of(
    st.text(max_size=400),
    st.text(ENCODABLE, max_size=400),
    st.text(ENCODABLE, max_size=300).map(
        lambda text: f"def activation_function(x):\n    return {text}\n"
    ),
)
NOT_TEXT = st.one_of(
    st.binary(max_size=200),
    st.none(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
)


@pytest.fixture(scope="module")
def property_evaluator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evaluator]:
    config = EvaluationConfig(
        families=("Harmonics",), trainer=TrainerConfig.fast(), num_instances=1, limits=LIMITS
    )
    shared = Evaluator(config, cache=JsonCache(tmp_path_factory.mktemp("property-cache")))
    yield shared
    shared.close()


def assert_well_formed(result: EvaluationResult, elapsed: float) -> None:
    reason = Reason(result.status)
    assert math.isfinite(result.reward)
    if result.ok:
        assert -DOWNSIDE_FLOOR <= result.reward <= result.scale.ceiling
    else:
        assert result.reward == PENALTY
    assert result.message.endswith(HINTS[reason])
    assert elapsed < MAX_SECONDS


@settings(SETTINGS, max_examples=60)
@given(text=TEXTS)
def test_any_text_gets_a_finite_reward(property_evaluator: Evaluator, text: str) -> None:
    started = time.perf_counter()
    result = property_evaluator.evaluate(text)
    event(result.status)
    assert_well_formed(result, time.perf_counter() - started)


@settings(SETTINGS, max_examples=20)
@given(action=NOT_TEXT)
def test_any_other_action_gets_the_penalty(property_evaluator: Evaluator, action: object) -> None:
    result = property_evaluator.evaluate(action)
    if not isinstance(action, bytes):  # bytes are decoded as UTF-8 and checked as text
        assert result.status == Reason.INVALID_ACTION.value
    assert_well_formed(result, 0.0)


@settings(SETTINGS, max_examples=40)
@given(source=programs())
def test_random_programs_get_a_finite_reward(property_evaluator: Evaluator, source: str) -> None:
    started = time.perf_counter()
    result = property_evaluator.evaluate(source)
    event(result.status)
    assert_well_formed(result, time.perf_counter() - started)


def test_the_evaluator_still_scores_relu(property_evaluator: Evaluator) -> None:
    relu = property_evaluator.evaluate(
        "import jax.numpy as jnp\n\ndef activation_function(x):\n    return jnp.maximum(x, 0.0)\n"
    )
    assert relu.ok and relu.reward == 0.0
