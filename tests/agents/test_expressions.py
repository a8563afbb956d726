"""Completion prompts for small models: one `return` expression, repaired and checked.

No model here: scripted replies, and the backend's decoding rules on hand-made tensors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import pytest
from actgym.agents.evolver import EvolverAgent, LocalMutatorAgent
from actgym.agents.expressions import (
    JNP_FUNCTIONS,
    NN_FUNCTIONS,
    complete_expression,
    expression_program,
)
from actgym.agents.prompts import FEW_SHOT
from actgym.agents.sampler import SampleAgent
from actgym.agents.testing import ScriptedBackend
from test_evolver import context, evaluated

from actgym.agent import History
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.policy import parse_candidate


def expression(reply: str) -> str:
    source = complete_expression(reply).source
    assert source is not None, complete_expression(reply).reason
    return source.rsplit("return ", 1)[1].strip()


@pytest.mark.parametrize(
    ("reply", "expected", "repair"),
    [
        ("jnp.tanh(x) + 0.1 * x\ndef more(", "jnp.tanh(x) + 0.1 * x", None),
        (
            "jnp.tanh(x * jax.nn.sigmoid(x)",
            "jnp.tanh(x * jax.nn.sigmoid(x))",
            "closed the expression",
        ),
        ("x * jax.nn.sigmoid(x) +", "x * jax.nn.sigmoid(x)", "closed the expression"),
        ("jnp.tanh(x)) * 2", "jnp.tanh(x)", "closed the expression"),
        ("jnp.tanh(x) + 0.5 * jnp.sinhh", "jnp.tanh(x) + 0.5", "cut trailing text"),
        ("jnp.relu(x) + jax.nn.sin(x)", "jax.nn.relu(x) + jnp.sin(x)", "called function"),
        ("np.exp(-x * x)  # a bump", "jnp.exp(-x * x)", "numpy alias"),
        ("jnp.max(x, 0.1 * x)", "jnp.maximum(x, 0.1 * x)", "called function"),
        ("0.5 + jax.nn.maximum(x)", "0.5 + jnp.maximum(x, 0.0)", "second argument 0"),
        ("jnp.logaddexp(2 * x)", "jnp.logaddexp(2 * x, 0.0)", "second argument 0"),
    ],
)
def test_a_completion_is_cut_repaired_and_assembled(
    reply: str, expected: str, repair: str | None
) -> None:
    assert expression(reply) == expected
    extraction = complete_expression(reply)
    assert extraction.kind == "completion"
    assert repair is None or repair in extraction.repairs


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "no expression"),
        ("\nreturn x", "no expression"),
        ("the best function is a smooth one", "not a Python expression"),
        ("0.5 * 2", "does not depend on x"),
        ("x > 0", "comparison"),
        ("jnp.fft(x)", "unknown `jnp.fft`"),
        ("jnp.max(x)", "unknown `jnp.max`"),
        ("jnp.sin() * x", "called with the wrong arguments"),
        ("y * x", "unknown name `y`"),
        ("jnp.maximum(jnp, x)", "unknown name `jnp`"),  # a namespace is no value
        ("jnp.tanh(x) + 0.1 * x", "repeats an example"),
        ("jnp.tanh(x)+0.1*x", "repeats an example"),
    ],
)
def test_broken_or_repeated_completions_are_unusable(reply: str, reason: str) -> None:
    extraction = complete_expression(reply, examples=FEW_SHOT)
    assert extraction.source is None and reason in extraction.reason


def test_assembled_programs_pass_the_static_policy() -> None:
    source = expression_program("jax.scipy.special.erf(x) + jnp.pi * jax.nn.gelu(x)")
    assert "import jax.scipy.special" in source
    parse_candidate(source, CandidateLimits())


def test_every_allowed_function_exists_in_jax() -> None:
    assert all(callable(getattr(jnp, name, None)) for name in JNP_FUNCTIONS)
    assert all(callable(getattr(jax.nn, name, None)) for name in NN_FUNCTIONS)


# -- prompt styles in the agents ---------------------------------------------------------


def test_chat_by_default_completion_for_a_model_in_process() -> None:
    backend = ScriptedBackend([])
    assert EvolverAgent(context(), backend=backend).prompt_style == "chat"
    assert EvolverAgent(context(backend="transformers"), backend=backend).prompt_style == (
        "completion"
    )
    assert LocalMutatorAgent(context(), backend=backend).prompt_style == "completion"
    chat = LocalMutatorAgent(context(prompt_style="chat"), backend=backend)
    assert chat.prompt_style == "chat"
    with pytest.raises(ValueError, match="unknown prompt_style"):
        EvolverAgent(context(prompt_style="poem"), backend=backend)
    with pytest.raises(ValueError, match="needs backend"):
        EvolverAgent(context(prompt_style="completion"))


def test_the_mutator_is_the_evolver_without_islands_or_inspirations() -> None:
    def agent(kind: type[EvolverAgent], **options: object) -> EvolverAgent:
        given = context(**options)
        defaults = {key: value for key, value in given.options.items() if key != "islands"}
        return kind(dataclasses.replace(given, options=defaults), backend=ScriptedBackend([]))

    evolver, mutator = agent(EvolverAgent), agent(LocalMutatorAgent)
    assert (evolver.database.num_islands, evolver.inspiration_count) == (4, 3)
    assert (mutator.database.num_islands, mutator.inspiration_count) == (1, 0)
    assert agent(LocalMutatorAgent, inspirations=2).inspiration_count == 2


def test_the_evolver_completes_expressions_after_its_parent() -> None:
    replies = ["jax.nn.gelu(x) * jnp.cos(x)\n", "jax.nn.gelu(x)\n"]
    backend = ScriptedBackend(replies)
    agent = EvolverAgent(context(backend="transformers", inspirations=0), backend=backend)
    agent.observe(evaluated(agent.propose(2, History([])), 0, [0.0, 0.25]))
    new, repeat = agent.propose(2, History([]))
    prompt = backend.prompts[0]
    assert isinstance(prompt, str) and prompt.endswith("def activation_function(x):\n    return ")
    assert prompt.count("return jnp.maximum(x, 0.0)\n") <= 1
    assert "return jax.nn.gelu(x) * jnp.cos(x)\n" in new.source
    assert new.notes["mode"] == "completion" and new.notes["unusable"] is None
    assert repeat.notes["unusable"] == "the expression repeats an example in the prompt"
    assert (agent.replies, agent.unusable) == (2, 1)


def test_the_sampler_completes_the_same_fixed_prompt() -> None:
    backend = ScriptedBackend(["jnp.sin(x) + x\n"] * 4)
    agent = SampleAgent(context(backend="transformers"), backend=backend)
    agent.observe(evaluated(agent.propose(2, History([])), 0, [0.0, 0.25]))
    agent.propose(2, History([]))
    agent.propose(2, History([]))
    assert backend.prompts[:2] == backend.prompts[2:]
    assert all(isinstance(prompt, str) for prompt in backend.prompts)


# -- the backend's decoding rules --------------------------------------------------------


def test_completions_keep_to_one_non_empty_line_of_allowed_tokens() -> None:
    torch = pytest.importorskip("torch")
    from actgym.agents.llm.constrained import LineEnd, OneLine

    allowed = torch.tensor([True, True, False, True])
    newlines = torch.tensor([False, False, False, True])
    rule = OneLine(allowed, newlines, prompt_length=2)
    scores = torch.zeros(2, 4)
    first = rule(torch.zeros(2, 2, dtype=torch.long), scores)
    assert torch.isinf(first).tolist() == [[False, False, True, True]] * 2
    later = rule(torch.zeros(2, 3, dtype=torch.long), scores)
    assert torch.isinf(later).tolist() == [[False, False, True, False]] * 2
    done = LineEnd(newlines, prompt_length=2)
    generated = torch.tensor([[0, 0, 1, 3], [0, 0, 1, 1]])
    assert done(generated, None).tolist() == [True, False]


def test_a_completed_line_cannot_copy_a_line_of_its_prompt() -> None:
    torch = pytest.importorskip("torch")
    from actgym.agents.llm.constrained import Lines, NoCopiedLine

    vocabulary = ["jnp", ".tanh(x)", "\n", ")\n", " + x", ".tanh(x"]

    def decode(ids: object, skip_special_tokens: bool) -> str:
        return "".join(vocabulary[int(index)] for index in ids)

    prompt = "def activation_function(x):\n    return jnp.tanh(x)\n\ndef f(x):\n    return "
    rule = NoCopiedLine(Lines(decode, [prompt], 2), [prompt], {"": [2], ")": [3]})

    def banned(*written: int) -> list[int]:
        ids = torch.tensor([[9, 9, *written]])
        return torch.isinf(rule(ids, torch.zeros(1, 6)))[0].nonzero().flatten().tolist()

    assert banned(0, 1) == [2]  # the copy may not end here, but may go on
    assert banned(0, 5) == [3]
    assert banned(0, 1, 4) == []


def _decoder(vocabulary: list[str]) -> Callable[..., str]:
    def decode(ids: object, skip_special_tokens: bool) -> str:
        return "".join(vocabulary[int(index)] for index in ids)

    return decode


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("jnp.ta", True),  # may still become jnp.tanh
        ("jnp.tanh(", True),
        ("jnp.tanh(x) + 1e-3 * x", True),  # 1e-3 is a number, not a name
        ("jax.nn.gelu(x) * jnp.pi", True),
        ("jnp.max", True),  # may still become jnp.maximum
        ("jnp.max(", False),  # a reduction
        ("jnp.maxi_", False),
        ("jnp.exp(", False),  # unguarded
        ("jnp.tanh + x", False),  # a function is no value
        ("x(", False),
        ("y", False),
        ("jnp.tanh()", False),  # a call needs arguments
        ("relu6", False),
        ("jax.nn.relu6(x) * 2.5e-3", True),
        ("2x", False),  # names hidden behind a number or a stray dot
        ("1e5x", False),
        ("jnp.tanh(x).max", False),
        ("x .sum", False),
        ("x * .5", True),
    ],
)
def test_decoding_names_accept_known_names_and_their_prefixes(text: str, accepted: bool) -> None:
    from actgym.agents.expressions import DECODING_NAMES

    assert DECODING_NAMES.accept(text) is accepted


def _name_rule(vocabulary: list[str], depth: int = 4) -> Callable[..., list[int]]:
    """The names rule over a toy vocabulary: which tokens it bans after `written`."""
    import torch
    from actgym.agents.expressions import DECODING_NAMES
    from actgym.agents.llm.constrained import KnownNames, Lines, NameBans

    allowed = torch.ones(len(vocabulary), dtype=torch.bool)
    indices = list(range(len(vocabulary)))
    bans = NameBans(DECODING_NAMES, indices, vocabulary, allowed)
    deep = NameBans(
        dataclasses.replace(DECODING_NAMES, new_calls=False), indices, vocabulary, allowed
    )
    rule = KnownNames(Lines(_decoder(vocabulary), ["    return "], 2), bans, deep, depth)

    def banned(*written: int) -> list[int]:
        ids = torch.tensor([[99, 99, *written]])
        scores = rule(ids, torch.zeros(1, len(vocabulary)))
        return torch.isinf(scores)[0].nonzero().flatten().tolist()

    return banned


def test_tokens_that_write_an_unknown_name_are_banned() -> None:
    pytest.importorskip("torch")
    banned = _name_rule(["jnp.", "max", "imum", "(", "(x", "tanh(", "exp(", " + ", "x", ")"])
    assert banned() == [1, 2, 5, 6]  # no bare `max`, `tanh(` or `exp(`
    assert banned(0) == [0, 2, 3, 4, 6, 7, 8, 9]  # `jnp.` goes on to a known function
    assert banned(0, 1) == [0, 1, 3, 4, 5, 6, 7, 8, 9]  # `jnp.max` only becomes maximum
    assert banned(0, 1, 2) == [0, 1, 2, 5, 6, 7, 8, 9]  # `jnp.maximum` is called
    assert banned(0, 1, 2, 3) == [1, 2, 5, 6, 9]  # and not with nothing


def test_a_line_break_ends_a_name_which_must_then_be_complete() -> None:
    pytest.importorskip("torch")
    banned = _name_rule(["jnp.ta", "nh(", "x", "\n", "nh\n", ")\n", "0.5", " * "])
    assert banned(0) == [0, 2, 3, 4, 5, 6, 7]  # `jnp.ta` cannot end the line, nor `jnp.tanh`
    assert banned(2) == [0, 1, 2, 4, 6]  # after x: an operator, a `)` or the end
    assert banned(6, 7, 2) == [0, 1, 2, 4, 6]  # numbers are no names


def test_at_the_depth_limit_a_name_can_only_become_a_value() -> None:
    pytest.importorskip("torch")
    banned = _name_rule(["jnp.tanh(", "jnp.ta", "x", ")", "jnp.p"], depth=2)
    assert banned(0) == [3]
    assert banned(0, 0) == [1, 3]  # no new call at depth 2 (`(` is Shallow's); `jnp.p`: pi
    assert banned(0, 0, 2) == [0, 1, 2, 4]
    assert banned(0, 0, 2, 3) == []  # back at depth 1: calls again


def test_a_row_with_every_token_banned_may_end_its_line() -> None:
    torch = pytest.importorskip("torch")
    from actgym.agents.llm.constrained import NeverStuck

    newlines = torch.tensor([False, True, False])
    scores = torch.tensor([[0.0, float("-inf"), 1.0], [float("-inf")] * 3])
    fixed = NeverStuck(newlines)(torch.zeros(2, 1), scores.clone())
    assert fixed[0].tolist() == [0.0, float("-inf"), 1.0]
    assert fixed[1].tolist() == [float("-inf"), 0.0, float("-inf")]


def test_a_line_cannot_end_before_it_names_x() -> None:
    torch = pytest.importorskip("torch")
    from actgym.agents.llm.constrained import Lines, MustName

    vocabulary = ["0.5", " * ", "x", "\n", "exp", "max"]
    newlines = torch.tensor([False, False, False, True, False, False])
    rule = MustName(Lines(_decoder(vocabulary), ["    return "], 2), newlines, "x")

    def banned(*written: int) -> list[int]:
        ids = torch.tensor([[99, 99, *written]])
        return torch.isinf(rule(ids, torch.zeros(1, 6)))[0].nonzero().flatten().tolist()

    assert banned(0) == [3]
    assert banned(0, 1, 4) == [3]  # `exp` is not the name x
    assert banned(0, 1, 2) == []


def test_parentheses_nest_at_most_depth_deep() -> None:
    torch = pytest.importorskip("torch")
    from actgym.agents.llm.constrained import Lines, Shallow

    vocabulary = ["jnp.tanh(", "x", ")", "(x"]
    openers = torch.tensor([True, False, False, True])
    rule = Shallow(Lines(_decoder(vocabulary), ["    return "], 2), openers, depth=2)

    def banned(*written: int) -> list[int]:
        ids = torch.tensor([[99, 99, *written]])
        return torch.isinf(rule(ids, torch.zeros(1, 4)))[0].nonzero().flatten().tolist()

    assert banned(0) == []
    assert banned(0, 0) == [0, 3]
    assert banned(0, 0, 1, 2) == []
