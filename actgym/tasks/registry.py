"""Single entry point from family names to built families, and the Suite of all four.

Callers name families by string (configs, CLI flags, agent tool calls), so validation happens
here once, with messages that list the valid choices instead of failing deep inside a builder.
"""

from actgym.tasks.base import DEFAULT_REGION, FamilySpec, TaskFamily, TaskSizes, instance_streams
from actgym.tasks.feynman import FAMILY as FEYNMAN
from actgym.tasks.harmonics import FAMILY as HARMONICS
from actgym.tasks.polynomials import POLY1D_FAMILY, POLY20D_FAMILY
from actgym.versions import env_id

_FAMILIES: dict[str, FamilySpec] = {
    spec.name: spec
    for spec in (
        HARMONICS,
        POLY1D_FAMILY,
        POLY20D_FAMILY,
        FEYNMAN,
    )
}

DEFAULT_SIZES = TaskSizes()

SUITE: tuple[str, ...] = tuple(_FAMILIES)
"""The Suite's members; each is scored separately and the scores are averaged."""


TASKS: tuple[str, ...] = (*SUITE, "Suite")
"""What an environment can be about: one family, or the whole Suite."""

ENV_IDS: dict[str, str] = {env_id(task): task for task in TASKS}
"""Each task's Gymnasium id, e.g. `ActSearch-Harmonics-v0`, to the task."""


def families_of(task: str) -> tuple[str, ...]:
    """The families a task scores: the Suite's members, or the one family it names."""
    if task == "Suite":
        return SUITE
    if task not in _FAMILIES:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    return (task,)


def family_names() -> tuple[str, ...]:
    """Names accepted by make_family, in Suite order."""
    return SUITE


def family_description(name: str) -> str:
    """The family's description without generating any data."""
    return _lookup(name).description


def _lookup(name: str) -> FamilySpec:
    if name not in _FAMILIES:
        raise ValueError(f"unknown task family {name!r}; valid names: {', '.join(SUITE)}")
    return _FAMILIES[name]


def _instance_count(spec: FamilySpec, num_instances: int | None) -> int:
    if num_instances is None:
        return spec.default_instances
    limit = spec.max_instances
    if num_instances < 1 or (limit is not None and num_instances > limit):
        allowed = f"1..{limit}" if limit is not None else ">= 1"
        raise ValueError(
            f"num_instances for {spec.name} must be {allowed} (or None for the default "
            f"{spec.default_instances}), got {num_instances}"
        )
    return num_instances


def make_family(
    name: str,
    *,
    seed: int = 0,
    num_instances: int | None = None,
    sizes: TaskSizes = DEFAULT_SIZES,
    region: str = DEFAULT_REGION,
) -> TaskFamily:
    """Builds the first ``num_instances`` instances of family ``name`` for ``seed``.

    Instance i depends only on (seed, family, i), ``sizes`` and ``region``
    (actgym.tasks.base.REGIONS); the target functions depend on neither.
    """
    spec = _lookup(name)
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    count = _instance_count(spec, num_instances)
    instances = tuple(
        spec.build_instance(index, instance_streams(seed, spec.family_id, index), sizes, region)
        for index in range(count)
    )
    return TaskFamily(name=spec.name, description=spec.description, instances=instances)


def make_suite(*, seed: int = 0, sizes: TaskSizes = DEFAULT_SIZES) -> tuple[TaskFamily, ...]:
    """Builds every Suite member with its default number of instances."""
    return tuple(make_family(name, seed=seed, sizes=sizes) for name in SUITE)
