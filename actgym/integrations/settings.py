"""What an adapter evaluates with: a task, a trainer preset and a task seed, and the one
Evaluator per process and fidelity built from them.

Frameworks call their evaluator function once per program, often in worker processes,
and the first call in a process pays a cold start (tracing sandbox, training process,
compiled programs). The Evaluator is therefore built once per process and settings, and
kept. Building it starts no JAX backend in the calling process, so a framework may fork
its workers after scoring its initial program (actgym.forksafety).
"""

from __future__ import annotations

import ast
import dataclasses
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actgym.agents.prompts import SYSTEM
from actgym.briefing import describe_task
from actgym.config import EvaluationConfig
from actgym.evaluation import Evaluator
from actgym.fidelity import get_fidelity
from actgym.tasks import families_of
from actgym.trainer import TrainerConfig


@dataclass(frozen=True)
class EvaluatorSettings:
    """The evaluator arguments every route accepts (OpenEvolve's `evaluator_args`,
    `actgym eval`'s options, the evaluation server's request fields).

    task: `Suite` or one family (`Harmonics`, `Poly1D`, ...), as in `ActSearch-<task>-v0`.
    fast: the fast trainer preset (`TrainerConfig.fast()`), for trials and tests.
    instances: instances per family (None: the task's default).
    task_seed: the task seed (0: the published instances).
    steps, train_seeds: training steps and the number of training seeds (None: the
        preset's); scope: `example` or `batch` (what one call of the activation sees).
    """

    task: str = "Suite"
    fast: bool = False
    instances: int | None = None
    task_seed: int = 0
    steps: int | None = None
    train_seeds: int | None = None
    scope: str = "example"

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> EvaluatorSettings:
        """Settings from keyword arguments; an unknown name is refused, naming the known."""
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(args) - known)
        if unknown:
            raise ValueError(
                f"unknown evaluator argument(s) {', '.join(unknown)}; "
                f"choose from {', '.join(sorted(known))}"
            )
        for name, value in args.items():
            _check_type(name, value)
        settings = cls(**args)
        settings.config()  # refuses an unknown task or a bad trainer value, saying why
        return settings

    def config(self, fidelity: str = "full") -> EvaluationConfig:
        seeds = None if self.train_seeds is None else tuple(range(self.train_seeds))
        trainer = TrainerConfig.preset(
            fast=self.fast, steps=self.steps, seeds=seeds, scope=self.scope
        )
        config = EvaluationConfig(
            families=families_of(self.task),
            trainer=trainer,
            num_instances=self.instances,
            task_seed=self.task_seed,
        )
        return get_fidelity(fidelity).applied(config)

    def prompt(self) -> str:
        """What a framework's language model is told: the candidate contract and the task
        (the built-in agents' system message and briefing; `actgym prompt`)."""
        return f"{SYSTEM}\n\n{describe_task(self.task, self.config())}"


_TYPES: dict[str, tuple[type, ...]] = {
    "task": (str,),
    "fast": (bool,),
    "instances": (int, type(None)),
    "task_seed": (int,),
    "steps": (int, type(None)),
    "train_seeds": (int, type(None)),
    "scope": (str,),
}
_MINIMUM = {"instances": 1, "task_seed": 0, "steps": 1, "train_seeds": 1}


def _check_type(name: str, value: object) -> None:
    wanted = _TYPES[name]
    wrong_bool = isinstance(value, bool) and bool not in wanted
    if wrong_bool or not isinstance(value, wanted):
        names = " or ".join("null" if kind is type(None) else kind.__name__ for kind in wanted)
        raise ValueError(f"evaluator argument {name} must be {names}, got {value!r}")
    if isinstance(value, int) and name in _MINIMUM and value < _MINIMUM[name]:
        raise ValueError(f"evaluator argument {name} must be at least {_MINIMUM[name]}")


_evaluators: dict[tuple[EvaluatorSettings, str], Evaluator] = {}
_lock = threading.Lock()


def _forget_parents_evaluators() -> None:
    """A forked worker builds its own Evaluators (and checks that it may: forksafety)."""
    global _evaluators, _lock
    _evaluators = {}
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parents_evaluators)


def process_evaluator(settings: EvaluatorSettings, fidelity: str = "full") -> Evaluator:
    """This process's Evaluator for `settings` at `fidelity`, built on first use."""
    key = (settings, fidelity)
    with _lock:
        if key not in _evaluators:
            _evaluators[key] = Evaluator(settings.config(fidelity))
        return _evaluators[key]


def program_source(path: str | Path) -> str:
    """The program file's source without a top-level `if __name__ == "__main__":` block.

    Evolved programs often carry such a harness to run themselves; the candidate is the
    function, and the evaluator's policy refuses module-level code that runs it. A file
    that does not parse is returned as it is: the check stage says why it fails.
    """
    source = Path(path).read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    for node in reversed(tree.body):
        if _is_main_guard(node):
            del lines[node.lineno - 1 : node.end_lineno]
    return "".join(lines)


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = {side.id for side in sides if isinstance(side, ast.Name)}
    texts = {side.value for side in sides if isinstance(side, ast.Constant)}
    return names == {"__name__"} and texts == {"__main__"}
