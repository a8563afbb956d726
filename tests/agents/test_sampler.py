"""`llm-sample` and the backends' sampling, with scripted replies and a fake server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from actgym.agents.llm.openai import OpenAIBackend
from actgym.agents.llm.protocol import LanguageModel, request_seed
from actgym.agents.sampler import SampleAgent
from actgym.agents.testing import ScriptedBackend
from fakes import FakeBackend
from test_evolver import RIPPLE, context, evaluated

from actgym.agents_registry import load_agent
from actgym.search import RunStore, run_search

BARE = "import jax.numpy as jnp\n\ndef activation_function(x):\n    return jnp.tanh(x)\n"


def test_llm_sample_is_registered() -> None:
    assert load_agent("llm-sample") is SampleAgent


def test_prompts_never_depend_on_earlier_results() -> None:
    backend = ScriptedBackend([RIPPLE] * 8)
    agent = SampleAgent(context(diff_fraction=0.0), backend=backend)
    seeds = agent.propose(2, [])
    agent.observe(evaluated(seeds, 0, [-1.0, -0.5]))
    first = agent.propose(2, [])
    # a great and a rejected result: the evolver would show both, the sampler neither
    agent.observe(evaluated(first, 2, [3.0, -10.0]))
    second = agent.propose(2, [])
    agent.observe(evaluated(second, 4, [1.0, 2.0]))
    third = agent.propose(2, [])
    assert backend.prompts[:2] == backend.prompts[2:4] == backend.prompts[4:6]
    assert backend.prompts[0] != backend.prompts[1]  # the seeds take turns as the parent
    assert "jnp.maximum(x, 0.0)" in backend.prompts[0][-1]["content"]
    assert all("rejected" not in prompt[-1]["content"] for prompt in backend.prompts)
    assert all("gelu_sine" not in str(prompt) for prompt in backend.prompts)
    assert [proposal.parents for proposal in third] == [(0,), (1,)]


def test_a_resumed_sampler_asks_the_same_prompts() -> None:
    agent = SampleAgent(context(diff_fraction=0.0), backend=ScriptedBackend([RIPPLE] * 2))
    seeds = agent.propose(2, [])
    agent.observe(evaluated(seeds, 0, [-1.0, -0.5]))
    state = json.loads(json.dumps(agent.state_dict()))
    resumed = SampleAgent(context(diff_fraction=0.0), backend=ScriptedBackend([RIPPLE] * 2))
    resumed.load_state_dict(state)
    agent.propose(2, [])
    resumed.propose(2, [])
    assert agent.backend.prompts == resumed.backend.prompts


class ScriptedSampler(SampleAgent):
    """The sampler in a real search loop, answered by `agent_options['replies']`."""

    def make_backend(self, options: Mapping[str, Any]) -> LanguageModel:
        return ScriptedBackend(options["replies"])


def test_unusable_replies_are_free_as_for_the_evolver(tmp_path: Path) -> None:
    prose = "I would add a ripple to def activation_function(x): here."
    config = {
        "agent": f"{Path(__file__).stem}:ScriptedSampler",
        "budget": 3,
        "proposals_per_call": 2,
        "agent_options": {"seeds": ["relu"], "replies": [prose, BARE, RIPPLE]},
    }
    result = run_search(
        tmp_path, config, backend_factory=FakeBackend().factory(), show_progress=False
    )
    with RunStore(tmp_path) as store:
        statuses = [row["status"] for row in store.evaluations()]
    assert statuses[:2] == ["ok", "unusable_reply"]
    assert (result.completed, result.unusable) == (4, 1)


def test_request_seeds_vary_per_request_and_repeat_per_run() -> None:
    seeds = [request_seed(0, index) for index in range(100)]
    assert len(set(seeds)) == 100 and all(0 <= seed < 2**31 for seed in seeds)
    assert seeds == [request_seed(0, index) for index in range(100)]
    assert seeds[:10] != [request_seed(1, index) for index in range(10)]


def fake_server(bodies: list[dict]) -> httpx.Client:
    """An OpenAI-compatible chat endpoint that records request bodies and echoes the seed."""

    def answer(request: httpx.PromptRequest) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        message = {"role": "assistant", "content": f"seed {body['seed']}"}
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            },
        )

    return httpx.Client(transport=httpx.MockTransport(answer))


def served(bodies: list[dict], **fields: Any) -> OpenAIBackend:
    backend = OpenAIBackend(models=(("m", 1.0),), base_url="http://fake/v1", **fields)
    backend._client = openai.OpenAI(
        base_url="http://fake/v1", api_key="x", http_client=fake_server(bodies), max_retries=0
    )
    return backend


@pytest.mark.parametrize("top_p", [None, 0.9])
def test_server_requests_carry_temperature_top_p_and_a_seed_each(top_p: float | None) -> None:
    bodies: list[dict] = []
    extra = {"generation_config": json.dumps({"do_sample": True})}
    backend = served(bodies, temperature=0.7, top_p=top_p, seed=3, concurrency=1, extra_body=extra)
    prompt = [{"role": "user", "content": "same"}]
    replies = backend.complete([prompt, prompt]) + backend.complete([prompt])
    assert [body["temperature"] for body in bodies] == [0.7] * 3
    assert all(body.get("top_p") == top_p for body in bodies)
    assert all(body["generation_config"] == '{"do_sample": true}' for body in bodies)
    seeds = [request_seed(3, index) for index in range(3)]
    assert sorted(body["seed"] for body in bodies) == sorted(seeds)
    assert [reply.text for reply in replies] == [f"seed {seed}" for seed in seeds]
    again: list[dict] = []
    served(again, seed=3, concurrency=1).complete([prompt, prompt, prompt])
    assert [body["seed"] for body in again] == seeds
    assert "generation_config" not in again[0] and "top_p" not in again[0]
