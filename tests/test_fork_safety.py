"""Callers of the public API can fork workers that evaluate (issue 29): checking or
evaluating in a process never starts JAX there, and a forked worker starts its own
sandbox and training processes instead of sharing (or stopping) its parent's.

The scenario runs in a fresh interpreter: this test process has long started JAX."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCENARIO = textwrap.dedent(
    """
    import json, multiprocessing
    from actgym.config import EvaluationConfig
    from actgym.evaluation import Evaluator
    from actgym.forksafety import _backend_running

    def source(scale):
        return ("import jax.numpy as jnp\\ndef activation_function(x):\\n"
                f"    return jnp.tanh(x) * {scale}\\n")

    config = EvaluationConfig.fast(families=("Harmonics",), num_instances=1)
    inherited = Evaluator(config)
    inherited.check(source(1.0))  # as OpenEvolve scores its initial program
    inherited.evaluate(source(1.5))
    backend_after = _backend_running()
    own = {}

    def with_own(scale):
        evaluator = own.setdefault("e", Evaluator(config))
        return evaluator.evaluate(source(scale)).status

    def with_inherited(scale):
        return inherited.evaluate(source(scale)).status

    with multiprocessing.get_context("fork").Pool(2) as pool:
        statuses = pool.map(with_own, [1.1, 1.2]) + pool.map(with_inherited, [1.3, 1.4])
    parent_again = inherited.evaluate(source(1.6)).status
    print(json.dumps({"backend": backend_after, "statuses": statuses, "parent": parent_again}))
    """
)


def test_a_fork_pool_evaluates_after_the_parent_checked_and_evaluated() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["backend"] is False, "checking and evaluating started JAX in the caller"
    assert outcome["statuses"] == ["ok"] * 4, done.stderr[-3000:]
    assert outcome["parent"] == "ok", "the workers stopped nothing of their parent's"
