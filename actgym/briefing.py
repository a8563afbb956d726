"""What an agent is told about its task: the protocol an EvaluationConfig scores with, the
reward, and each family's definition. It lives above the tasks, trainer and reward, which it
describes, and below the environments and the search, which hand it to agents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actgym.tasks.registry import families_of, family_description

if TYPE_CHECKING:
    from actgym.evaluation import EvaluationConfig


def describe_task(task: str, config: EvaluationConfig) -> str:
    """What `task` asks under `config` (its task seed and trainer), in words an LLM agent
    can act on."""
    trainer, task_seed = config.trainer, config.task_seed
    if trainer.scope == "batch":
        sees = (
            f"x is the minibatch's float32 array of shape ({trainer.batch_size}, "
            f"{trainer.width}): {trainer.batch_size} examples' hidden pre-activations (test "
            "data is fed in batches of the same size)"
        )
    else:
        sees = f"x is one example's float32 vector of {trainer.width} hidden pre-activations"
    parts = [
        f"Task {task} (task seed {task_seed}). Write Python source defining "
        f"`def activation_function(x):` with jax.numpy; {sees} and the result must have "
        f"its shape and dtype. MLPs of depth {trainer.depth} and width {trainer.width} are "
        f"trained with Adam for {trainer.steps} steps on {len(trainer.seeds)} seeds; the "
        "reward is the mean log-ratio of ReLU's out-of-distribution loss to yours "
        "(ReLU = 0, higher is better, no upper limit: ten times less OOD loss is always "
        "about 2.3 more, up to exact extrapolation), counted only on task instances where "
        "your network also fits the training region: a network that learns nothing never "
        "beats ReLU."
    ]
    for family in families_of(task):
        parts.append(family_description(family))  # each starts with its family name
    return " ".join(parts)
