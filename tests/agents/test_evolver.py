"""The LLM evolver's logic, driven by a scripted backend (no model, no network)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from actgym.agents.edits import extract, repair
from actgym.agents.evolver import EvolverAgent, LocalMutatorAgent
from actgym.agents.llm.protocol import Budget, BudgetExhausted, LanguageModel
from actgym.agents.program_database import ArchiveEntry, ProgramDatabase
from actgym.agents.testing import ScriptedBackend
from fakes import FakeBackend

from actgym.agent import AgentContext, Evaluation, History, Proposal, TaskInfo
from actgym.references import REFERENCES
from actgym.search import RunStore, run_search

PARENT = (
    "import jax.numpy as jnp\n\n\ndef activation_function(x):\n    return jnp.maximum(x, 0.0)\n"
)


# -- extraction and repair ---------------------------------------------------------------


def test_fenced_rewrite_with_rationale() -> None:
    reply = "Rationale: keep ReLU's slope, add a ripple.\n```python\n" + PARENT + "```\nDone."
    extraction = extract(reply)
    assert extraction.source == PARENT
    assert extraction.rationale == "keep ReLU's slope, add a ripple."
    assert extraction.kind == "rewrite"


def test_search_replace_edits_apply_to_the_parent() -> None:
    reply = (
        "Rationale: ripple.\n<<<<<<< SEARCH\n    return jnp.maximum(x, 0.0)\n=======\n"
        "    return jnp.maximum(x, 0.0) + 0.1 * jnp.sin(x)\n>>>>>>> REPLACE\n"
    )
    extraction = extract(reply, PARENT)
    assert extraction.kind == "diff"
    assert "+ 0.1 * jnp.sin(x)" in extraction.source
    assert extraction.source.count("def activation_function") == 1


def test_unusable_replies_say_why() -> None:
    assert extract("I cannot help with that.").reason == "the reply contains no code"
    mismatch = "<<<<<<< SEARCH\nreturn x * 7\n=======\nreturn x\n>>>>>>> REPLACE"
    assert "does not match" in extract(mismatch, PARENT).reason
    assert "no parent" in extract(mismatch).reason


def test_prose_quoting_the_signature_is_unusable_not_code() -> None:
    prose = (
        "To improve it, I would keep the shape of def activation_function(x): and add\n"
        "a ripple, since smooth functions train better. Hope this helps!"
    )
    extraction = extract(prose)
    assert extraction.source is None and extraction.reason == "the reply contains no code"
    starts_with_def = "def activation_function(x): is what I would change, by adding a ripple."
    assert "not Python" in extract(starts_with_def).reason


def test_bare_code_after_prose_is_extracted_with_its_imports() -> None:
    reply = "Here is my idea.\nimport jax.numpy as jnp\n" + PARENT.split("\n\n\n")[1]
    extraction = extract(reply)
    assert extraction.source == PARENT.replace("\n\n\n", "\n")
    assert extraction.repairs == ()


def test_a_fenced_block_wins_over_a_def_quoted_in_prose() -> None:
    reply = "I rewrote def activation_function(x): as follows.\n```python\n" + PARENT + "```"
    assert extract(reply).source == PARENT


def test_repairs_fix_small_model_slips() -> None:
    source, repairs = repair(
        "import numpy as np\ndef act(x):\n    return np.tanh(x) + jnp.sigmoid(x)\n"
    )
    assert "import jax.numpy as jnp" in source and "np." not in source.replace("jnp.", "")
    assert "def activation_function(x):" in source and "jax.nn.sigmoid(" in source
    assert set(repairs) >= {"numpy import", "numpy alias", "function name", "sigmoid"}


# -- the program database ----------------------------------------------------------------


def program(identifier: int, reward: float, island: int = 0, slope: float = 1.0) -> ArchiveEntry:
    return ArchiveEntry(
        id=identifier,
        source=f"# {identifier}\n",
        reward=reward,
        status="ok",
        flops_per_element=2.0,
        descriptors={"left_slope": 0.0, "right_slope": slope, "oscillation": 0.0},
        island=island,
    )


def test_map_elites_keeps_the_best_per_cell_and_island() -> None:
    database = ProgramDatabase(num_islands=2, migration_interval=1000)
    assert database.add(program(1, 0.1))
    assert not database.add(program(2, 0.05))
    assert database.add(program(3, 0.2))
    assert database.add(program(4, -0.5, slope=-1.0))
    assert database.add(program(5, 0.0, island=1))
    assert [p.id for p in database.islands[0].values()] == [3, 4]
    assert database.best().id == 3 and database.best(1).id == 5


def test_migration_copies_each_island_best_to_the_next() -> None:
    database = ProgramDatabase(num_islands=3, migration_interval=3)
    database.add(program(1, 0.5, island=0, slope=0.5))
    database.add(program(2, 0.1, island=1, slope=2.0))
    assert database.best(1).id == 2
    database.add(program(3, 0.2, island=2, slope=-1.0))
    assert {p.id for p in database.islands[1].values()} == {1, 2}
    assert {p.id for p in database.islands[0].values()} == {1, 3}


def test_parent_sampling_prefers_high_reward_and_still_explores() -> None:
    database = ProgramDatabase(num_islands=1, exploitation=0.8, temperature=0.1)
    database.add(program(1, 1.0, slope=1.0))
    database.add(program(2, 0.0, slope=-1.0))
    rng = np.random.default_rng(0)
    picks = [database.sample_parent(0, rng).id for _ in range(400)]
    assert 0.8 < picks.count(1) / 400 < 0.99
    inspirations = database.inspirations(0, database.best(), 2, rng)
    assert [p.id for p in inspirations] == [2]


def test_failures_are_remembered_and_state_round_trips() -> None:
    database = ProgramDatabase(num_islands=2)
    database.add(program(1, 0.3))
    database.add(ArchiveEntry(id=2, source="x", reward=-10.0, status="syntax_error", message="bad"))
    restored = ProgramDatabase.from_state(database.state())
    assert restored.state() == database.state()
    assert restored.recent_failures(1)[0].status == "syntax_error"


# -- the agent ---------------------------------------------------------------------------


def context(**options: object) -> AgentContext:
    task = TaskInfo("ActSearch-Harmonics-v0", "Harmonics", ("Harmonics",), "Fit sines.")
    return AgentContext(
        task=task,
        rng=np.random.default_rng(0),
        budget=20,
        seed=0,
        proposals_per_call=2,
        options={"islands": 2, "seeds": ["relu", "gelu"], **options},
    )


def evaluated(
    proposals: Sequence[Proposal], start: int, rewards: Sequence[float]
) -> list[Evaluation]:
    return [
        Evaluation(
            id=start + index,
            proposal=proposal,
            status="ok" if reward > -10 else "missing_function",
            message="",
            reward=reward,
            ood_loss=1.0,
            id_loss=0.1,
            train_loss=0.1,
            flops_per_element=3.0,
            program_hash=str(start + index),
            family_rewards={"Harmonics": reward},
            seconds=1.0,
            descriptors={"left_slope": 0.0, "right_slope": 1.0, "oscillation": float(index)},
        )
        for index, (proposal, reward) in enumerate(zip(proposals, rewards, strict=True))
    ]


RIPPLE = "Rationale: ripple.\n```python\n" + REFERENCES["gelu_sine"] + "```"


def test_seeds_first_then_prompts_show_parent_and_rejections() -> None:
    backend = ScriptedBackend([RIPPLE, "no code at all"])
    agent = EvolverAgent(context(diff_fraction=0.0), backend=backend)
    seeds = agent.propose(2, History([]))
    assert [proposal.source for proposal in seeds] == [REFERENCES["relu"], REFERENCES["gelu"]]
    assert [proposal.notes["island"] for proposal in seeds] == [0, 1]
    agent.observe(evaluated(seeds, 0, [0.0, 0.1]))
    agent.database.add(
        ArchiveEntry(id=9, source="x", reward=-10.0, status="timeout", message="too slow")
    )
    first, second = agent.propose(2, History([]))
    prompt = backend.prompts[0][1]["content"]
    assert "Parent program" in prompt and "timeout: too slow" in prompt
    assert first.source == REFERENCES["gelu_sine"] and first.notes["rationale"] == "ripple."
    assert first.notes["prompt"] == backend.prompts[0] and second.notes["prompt"][1]["content"]
    assert first.parents in ((0,), (1,))
    assert second.source.startswith("# unusable reply: the reply contains no code")
    assert second.notes["unusable"] == "the reply contains no code"
    assert (agent.replies, agent.unusable) == (2, 1)


def test_budget_stop_ends_the_search_cleanly() -> None:
    backend = ScriptedBackend([RIPPLE] * 4, budget=Budget(max_tokens=30))
    agent = EvolverAgent(context(seeds=[]), backend=backend)
    assert len(agent.propose(1, History([]))) == 1
    assert agent.propose(1, History([])) == []
    with pytest.raises(BudgetExhausted):
        backend.complete([[]])


def test_resume_from_state_continues_identically() -> None:
    def run(agent: EvolverAgent) -> list[str]:
        proposals = agent.propose(2, History([]))
        agent.observe(evaluated(proposals, 0, [0.0, 0.2]))
        return [p.source for p in agent.propose(2, History([]))]

    original = EvolverAgent(context(), backend=ScriptedBackend([RIPPLE] * 4))
    run(original)
    state = original.state_dict()
    rng_state = original.rng.bit_generator.state
    resumed = EvolverAgent(context(), backend=ScriptedBackend([RIPPLE] * 4))
    resumed.load_state_dict(state)
    resumed.rng.bit_generator.state = rng_state
    for agent in (original, resumed):
        agent.backend.replies = [RIPPLE, PARENT]
    assert original.propose(2, History([])) == resumed.propose(2, History([]))
    assert resumed.backend.usage == original.backend.usage


def test_local_mutator_prompts_for_a_body_and_builds_a_program() -> None:
    backend = ScriptedBackend(["np.tanh(x) * 1.5 + 0.1 * x\ndef more(", ""])
    agent = LocalMutatorAgent(context(seeds=["relu"]), backend=backend)
    agent.observe(evaluated(agent.propose(1, History([])), 0, [0.0]))
    proposal, empty = agent.propose(2, History([]))
    prompt = backend.prompts[0]
    assert isinstance(prompt, str) and prompt.endswith("def activation_function(x):\n    return ")
    assert "jnp.maximum(x, 0.0)  # reward" not in prompt or "# reward +0.000" in prompt
    assert "return jnp.tanh(x) * 1.5 + 0.1 * x" in proposal.source
    assert "numpy alias" in proposal.notes["repairs"]
    assert empty.notes["unusable"] == "the model wrote no expression"


def test_unknown_seed_names_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown seed activations"):
        EvolverAgent(context(seeds=["relu", "nope"]), backend=ScriptedBackend([]))


class ScriptedEvolver(EvolverAgent):
    """The evolver in a real search loop, answered by `agent_options['replies']`."""

    def make_backend(self, options: Mapping[str, Any]) -> LanguageModel:
        return ScriptedBackend(options["replies"])


def test_prose_replies_are_recorded_unevaluated_and_uncharged(tmp_path: Path) -> None:
    prose = "I would use def activation_function(x): with a ripple, it trains well."
    bare = "import jax.numpy as jnp\n\ndef activation_function(x):\n    return jnp.tanh(x)\n"
    config = {
        "agent": f"{Path(__file__).stem}:ScriptedEvolver",
        "budget": 2,
        "proposals_per_call": 2,
        "agent_options": {"seeds": [], "diff_fraction": 0.0, "replies": [prose, RIPPLE, bare]},
    }
    backend = FakeBackend()
    result = run_search(tmp_path, config, backend_factory=backend.factory(), show_progress=False)
    assert backend.evaluated == [1, 2], "the prose reply was sent for evaluation"
    with RunStore(tmp_path) as store:
        first = store.evaluations()[0]
    assert (first["status"], first["message"], first["reward"]) == (
        "unusable_reply",
        "the reply contains no code",
        -10.0,
    )
    assert (result.completed, result.unusable, result.stopped_early) == (3, 1, False)
