"""`actgym leaderboard verify --ray`: the same scores when the training runs on Ray actors."""

from __future__ import annotations

from pathlib import Path

import pytest
from actgym.leaderboard.cli_parts import ray_evaluators
from actgym.leaderboard.profiles import env_version
from actgym.leaderboard.verifier import Scorer
from leaderboard_support import PROFILE, SECRET, activation, layers_here, shared_scorer

ray = pytest.importorskip("ray", reason="Ray is the optional extra actgym[ray] (CI installs it)")

SOURCE = activation("return jax.nn.gelu(x) + 0.1 * jnp.sin(x)")


def test_a_scorer_on_ray_gives_every_seed_set_the_local_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = shared_scorer()
    expected = local.score(local.check(SOURCE), SOURCE)
    monkeypatch.setenv("ACTGYM_CACHE_DIR", str(tmp_path / "ray-cache"))  # train, not read
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    remote = ray_evaluators("local", layers_here(), 1 + PROFILE.hidden_seeds)
    scorer = Scorer.from_secret(
        PROFILE, SECRET, env_version(), required_layers=layers_here(), remote=remote
    )
    try:
        program = scorer.check(SOURCE)
        on_ray = scorer.score(program, SOURCE)
        with pytest.raises(RuntimeError, match="traced another program"):
            scorer.score(program, activation("return jax.nn.relu(x)"))
    finally:
        scorer.close()
        ray.shutdown()
    assert on_ray == expected
    assert {seed_set.kind for seed_set in on_ray} == {"public", "hidden"}
