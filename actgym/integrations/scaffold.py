"""Ready task directories for the evolvers: `actgym openevolve init DIR`, `actgym shinka
init DIR`.

The directory holds what a user would otherwise write by hand: the program evolution
starts from (ReLU, score 1) and an evaluator that imports actgym's adapter; for OpenEvolve
a `config.yaml` with the task prompt, timeouts above the cold start and the cascade's
thresholds, each explained where it is set; for ShinkaEvolve the task prompt as the text
of its `task_sys_msg`.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from actgym.integrations.openevolve import CASCADE_THRESHOLDS
from actgym.integrations.settings import EvaluatorSettings

INITIAL_PROGRAM = '''\
# EVOLVE-BLOCK-START
import jax
import jax.numpy as jnp


def activation_function(x):
    """ReLU: the baseline every reward is measured against (combined score 1)."""
    return jnp.maximum(x, 0.0)
# EVOLVE-BLOCK-END
'''

TIMEOUT_S = {True: 600, False: 3600}
"""Seconds per stage (fast preset, default settings): a worker's first evaluation starts
its sandbox and training process and compiles, 20-50 s on a 2-core CPU, and a full
evaluation of the Suite at default settings takes minutes there."""


def openevolve_files(settings: EvaluatorSettings, iterations: int) -> dict[str, str]:
    """File name -> text of an OpenEvolve task directory for `settings`."""
    arguments = _arguments(settings)
    evaluator = (
        '"""OpenEvolve scores programs with actgym (docs/integrations.md)."""\n\n'
        "from actgym.integrations.openevolve import stages\n\n"
        "evaluate, evaluate_stage1, evaluate_stage2, evaluate_stage3 = stages(\n"
        f"    {arguments}\n"
        ")\n"
    )
    prompt = textwrap.indent(settings.prompt(), "    ")
    low, promote = CASCADE_THRESHOLDS
    config = f"""\
# OpenEvolve on actgym {settings.task} (docs/integrations.md). Run:
#   openevolve-run initial_program.py evaluator.py --config config.yaml
max_iterations: {iterations}
checkpoint_interval: 10
random_seed: 42
diff_based_evolution: true

llm:
  # Any OpenAI-compatible server, e.g. `transformers serve` with a local model.
  api_base: "http://127.0.0.1:8000/v1"
  api_key: "none"
  models:
    - name: "SmolLM2-135M-Instruct"
      weight: 1.0
  temperature: 0.7
  max_tokens: 1024
  timeout: 120

prompt:
  system_message: |
{prompt}

database:
  population_size: 200
  num_islands: 2

evaluator:
  # Per stage: above a worker's cold start (20-50 s) plus one evaluation.
  timeout: {TIMEOUT_S[settings.fast]}
  max_retries: 0
  parallel_evaluations: 2
  # The combined score is exp(reward): ReLU's OOD loss over the candidate's (ReLU 1),
  # 0 for anything that did not train, so every trained candidate beats every failure.
  # Stage 1 checks the source only (score 1 if it passes); stage 2 trains at the low
  # fidelity (4 instances per family, one seed: about a quarter of the cost); stage 3 is
  # the full evaluation. {promote} lets through a candidate whose low-fidelity OOD loss is
  # at most {1 / promote:.2f} times ReLU's. The task's settings are in evaluator.py:
  # OpenEvolve passes evaluator_args to evaluate() only, never to the stages.
  cascade_evaluation: true
  cascade_thresholds: [{low}, {promote}]
"""
    return {"initial_program.py": INITIAL_PROGRAM, "evaluator.py": evaluator, "config.yaml": config}


def shinka_files(settings: EvaluatorSettings) -> dict[str, str]:
    """File name -> text of a ShinkaEvolve task directory for `settings`."""
    evaluate = (
        '"""ShinkaEvolve scores programs with actgym (docs/integrations.md)."""\n\n'
        "from actgym.integrations.shinka import main\n\n"
        'if __name__ == "__main__":\n'
        f"    main({_arguments(settings)})\n"
    )
    return {
        "initial.py": INITIAL_PROGRAM,
        "evaluate.py": evaluate,
        "task_sys_msg.txt": settings.prompt() + "\n",
    }


def _arguments(settings: EvaluatorSettings) -> str:
    """`task="Suite", fast=False, ...`: Python a formatter leaves as it is."""
    names = ("task", "fast", "instances", "task_seed")
    texts = {
        name: json.dumps(value) if isinstance(value, str) else repr(value)
        for name, value in ((name, getattr(settings, name)) for name in names)
    }
    return ", ".join(f"{name}={text}" for name, text in texts.items())


def write_task_directory(directory: Path, files: dict[str, str]) -> list[Path]:
    """Write `files` into `directory` (created if missing); refuse to overwrite any."""
    existing = [name for name in files if (directory / name).exists()]
    if existing:
        raise FileExistsError(
            f"{directory} already holds {', '.join(existing)}; choose an empty directory"
        )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
