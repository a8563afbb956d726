"""Shared vocabulary of the task suite: data containers, seeding and region sampling.

Every family is built from the same few pieces so that the guarantees the trainer relies on
hold by construction rather than by each family's care:

* Reproducibility without global state. An instance is a pure function of (seed, family id,
  instance index); the family id is a fixed integer because Python's ``hash()`` is salted
  per process. The target's constants and each split's samples come from separate child
  streams, so asking for more test points never changes the function being learned.
* Disjoint regions in the stored precision. Samples are drawn in float64 but stored as
  float32; rounding could land an OOD point exactly on the boundary of the training region,
  so OOD samplers push such points one float32 step outwards. Training regions are closed,
  OOD regions exclude the shared boundary.
* Targets are evaluated in float64 on the float32 inputs actually stored, so ``y`` is the
  function of exactly the ``x`` the model sees, and containers reject non-finite targets.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Bounds = tuple[tuple[float, float], ...]
"""Per-variable (low, high) sampling range, in column order."""

Target = Callable[[np.ndarray], np.ndarray]
"""Maps float64 inputs of shape (n, d) to float64 targets of shape (n,)."""

Sampler = Callable[[np.random.Generator, int], np.ndarray]
"""Draws n float32 input rows of shape (n, d) from one region."""

ONE_D_TRAIN_RADIUS = 1.0
"""1-D families train on the closed interval [-1, 1]."""

ONE_D_OOD_RADIUS = 2.0
"""1-D families are tested on 1 < |x| <= 2, both sides of the training interval."""


@dataclass(frozen=True)
class Split:
    """Inputs and targets of one split; construction checks dtypes, shapes and finiteness.

    Splits built by the suite also hold C-contiguous, read-only arrays.
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.x.dtype != np.float32 or self.y.dtype != np.float32:
            raise ValueError(f"split arrays must be float32, got {self.x.dtype}, {self.y.dtype}")
        if self.x.ndim != 2 or self.y.shape != (self.x.shape[0],):
            raise ValueError(f"expected x (n, d) and y (n,), got {self.x.shape}, {self.y.shape}")
        if not np.all(np.isfinite(self.y)):
            raise ValueError("split targets must all be finite")


@dataclass(frozen=True)
class TaskInstance:
    """One regression target with an in-distribution and an out-of-distribution region.

    ``params`` lists the drawn constants as (name, value) pairs so that they can be inspected
    without parsing ``formula``; it is empty for targets without drawn constants.
    """

    name: str
    formula: str
    input_dim: int
    train: Split
    validation: Split
    test: Split
    params: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class TaskFamily:
    """A named group of instances that is scored as one unit."""

    name: str
    description: str
    instances: tuple[TaskInstance, ...]


@dataclass(frozen=True)
class TaskSizes:
    """Number of samples per split; identical for every instance of a family.

    Training data is plentiful (training cost depends on steps and batch size, not on
    n_train) so that the 20-input family is learnable; validation and test sets are large
    enough that sampling noise in a loss is small next to the differences between
    activations.
    """

    n_train: int = 4096
    n_validation: int = 1024
    n_test: int = 1024

    def __post_init__(self) -> None:
        for field_name in ("n_train", "n_validation", "n_test"):
            if getattr(self, field_name) < 1:
                raise ValueError(f"TaskSizes.{field_name} must be >= 1")


@dataclass(frozen=True)
class Streams:
    """Independent random streams of one instance, in SeedSequence spawn order."""

    target: np.random.Generator
    train: np.random.Generator
    validation: np.random.Generator
    test: np.random.Generator


def instance_streams(seed: int, family_id: int, index: int) -> Streams:
    """Spawns the four child streams of SeedSequence([seed, family_id, index])."""
    children = np.random.SeedSequence([seed, family_id, index]).spawn(4)
    return Streams(*(np.random.default_rng(child) for child in children))


@dataclass(frozen=True)
class FamilySpec:
    """How the registry builds a family; ``max_instances`` is None for generated families."""

    name: str
    family_id: int
    description: str
    default_instances: int
    max_instances: int | None
    build_instance: Callable[[int, Streams, TaskSizes, str], TaskInstance]


DEFAULT_REGION = "default"
UNIT_HALVES = "unit-halves"
REGIONS = (DEFAULT_REGION, UNIT_HALVES)
"""Where instances are trained and tested. `default`: each family's own regions
(docs/tasks.md). `unit-halves`: the paper's unverified protocol, every input variable
trained on [0, 0.5] and tested on (0.5, 1]; Feynman keeps its equations' own ranges, whose
lower and upper halves are already its regions."""


def lower_half(bounds: Bounds) -> Bounds:
    """Training box: the lower half [lo, mid] of every variable's range."""
    return tuple((lo, lo + 0.5 * (hi - lo)) for lo, hi in bounds)


def upper_half(bounds: Bounds) -> Bounds:
    """OOD box: the upper half (mid, hi] of every variable's range."""
    return tuple((lo + 0.5 * (hi - lo), hi) for lo, hi in bounds)


def _columns(bounds: Bounds) -> tuple[np.ndarray, np.ndarray]:
    lows, highs = zip(*bounds, strict=True)
    return np.asarray(lows), np.asarray(highs)


def _strictly_above(values: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Moves float32 values that rounded onto ``floor`` to the next float32 above it."""
    floor32 = floor.astype(np.float32)
    return np.maximum(values, np.nextafter(floor32, np.float32(np.inf)))


def sample_closed_box(rng: np.random.Generator, bounds: Bounds, n: int) -> np.ndarray:
    """Uniform samples in the closed box [lo, hi] per variable."""
    lows, highs = _columns(bounds)
    return rng.uniform(lows, highs, size=(n, len(bounds))).astype(np.float32)


def sample_open_below_box(rng: np.random.Generator, bounds: Bounds, n: int) -> np.ndarray:
    """Uniform samples in (lo, hi] per variable: never on the lower face."""
    lows, _ = _columns(bounds)
    return _strictly_above(sample_closed_box(rng, bounds, n), lows)


def sample_cube(rng: np.random.Generator, n: int, dims: int, radius: float) -> np.ndarray:
    """Training samples, uniform on the closed cube [-radius, radius]^dims."""
    return sample_closed_box(rng, ((-radius, radius),) * dims, n)


def sample_cube_shell(
    rng: np.random.Generator, n: int, dims: int, inner: float, outer: float
) -> np.ndarray:
    """OOD samples with every coordinate outside the cube: inner < |x_j| <= outer.

    Magnitudes first (one call), then signs (one call), so every variable leaves the
    training range at once, on either side with probability 1/2.
    """
    magnitude = sample_open_below_box(rng, ((inner, outer),) * dims, n)
    sign = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(n, dims))
    return magnitude * sign


def sample_interval(rng: np.random.Generator, n: int) -> np.ndarray:
    """1-D training samples, uniform on [-ONE_D_TRAIN_RADIUS, ONE_D_TRAIN_RADIUS]."""
    return sample_cube(rng, n, 1, ONE_D_TRAIN_RADIUS)


def sample_shell(rng: np.random.Generator, n: int) -> np.ndarray:
    """1-D OOD samples, uniform on ONE_D_TRAIN_RADIUS < |x| <= ONE_D_OOD_RADIUS."""
    return sample_cube_shell(rng, n, 1, ONE_D_TRAIN_RADIUS, ONE_D_OOD_RADIUS)


def _make_split(rng: np.random.Generator, n: int, sample: Sampler, target: Target) -> Split:
    x = np.ascontiguousarray(sample(rng, n), dtype=np.float32)
    y = np.ascontiguousarray(target(x.astype(np.float64)), dtype=np.float32)
    x.setflags(write=False)
    y.setflags(write=False)
    return Split(x=x, y=y)


@dataclass(frozen=True)
class TargetSpec:
    """What a family decides about one instance; ``build`` turns it into data."""

    name: str
    formula: str
    input_dim: int
    target: Target
    sample_train: Sampler
    sample_test: Sampler
    params: tuple[tuple[str, float], ...] = ()

    def build(self, streams: Streams, sizes: TaskSizes) -> TaskInstance:
        """Draws the three splits; train and validation share the training region."""
        return TaskInstance(
            name=self.name,
            formula=self.formula,
            input_dim=self.input_dim,
            train=_make_split(streams.train, sizes.n_train, self.sample_train, self.target),
            validation=_make_split(
                streams.validation, sizes.n_validation, self.sample_train, self.target
            ),
            test=_make_split(streams.test, sizes.n_test, self.sample_test, self.target),
            params=self.params,
        )


def one_d_target(
    name: str,
    terms: list[tuple[float, str]],
    target: Target,
    params: tuple[tuple[str, float], ...],
) -> TargetSpec:
    """A target in one input on the regions every 1-D family shares; its formula sums `terms`."""
    return TargetSpec(
        name=name,
        formula=f"y = {format_sum(terms)}",
        input_dim=1,
        target=target,
        sample_train=sample_interval,
        sample_test=sample_shell,
        params=params,
    )


def in_region(spec: TargetSpec, region: str) -> TargetSpec:
    """`spec` with the training and test samplers of `region` (the target is unchanged)."""
    if region == DEFAULT_REGION:
        return spec
    if region != UNIT_HALVES:
        raise ValueError(f"unknown region {region!r}; choose from {', '.join(REGIONS)}")
    unit = ((0.0, 1.0),) * spec.input_dim
    return dataclasses.replace(
        spec,
        sample_train=lambda rng, n: sample_closed_box(rng, lower_half(unit), n),
        sample_test=lambda rng, n: sample_open_below_box(rng, upper_half(unit), n),
    )


def generated_family(
    name: str,
    family_id: int,
    description: str,
    default_instances: int,
    draw_target: Callable[[int, np.random.Generator], TargetSpec],
) -> FamilySpec:
    """A family of drawn targets, as many as asked for: instance ``index`` draws its target
    from its own target stream with ``draw_target``, then its splits in ``region``."""

    def build_instance(index: int, streams: Streams, sizes: TaskSizes, region: str) -> TaskInstance:
        return in_region(draw_target(index, streams.target), region).build(streams, sizes)

    return FamilySpec(
        name=name,
        family_id=family_id,
        description=description,
        default_instances=default_instances,
        max_instances=None,
        build_instance=build_instance,
    )


def format_sum(terms: list[tuple[float, str]]) -> str:
    """Renders sum(coef * term) with 3 significant digits and explicit signs: 'a*t1 - b*t2'.

    An empty term string stands for the constant term.
    """
    parts = []
    for position, (coef, term) in enumerate(terms):
        magnitude = f"{abs(coef):.3g}" + (f"*{term}" if term else "")
        if position == 0:
            parts.append(f"-{magnitude}" if coef < 0 else magnitude)
        else:
            parts.append(f"{'-' if coef < 0 else '+'} {magnitude}")
    return " ".join(parts)
