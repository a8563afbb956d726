"""Feynman: physics equations from the AI Feynman benchmark (Udrescu & Tegmark, 2020).

Synthetic families say how an activation copes with one kind of structure; real physical laws
(power laws, ratios, a Gaussian, a relativistic factor, an interference term) check that the
advantage carries over to the shapes scientists actually fit. Variable ranges are those of the
benchmark's equation table, so results stay comparable with the symbolic-regression literature;
the split into the lower and upper half of every range turns the benchmark into an
extrapolation test. Equations are kept to 1-4 inputs so that all instances train quickly.

Identifiers follow the equation numbers printed in the paper's table; the distributed
FeynmanEquations.csv (and PMLB) drop a trailing zero from some of them: here "I.6.20a" is
listed there as "I.6.2a" and "I.39.10" as "I.39.1".
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from actgym.tasks.base import (
    REGIONS,
    Bounds,
    FamilySpec,
    Streams,
    TargetSpec,
    TaskInstance,
    TaskSizes,
    lower_half,
    sample_closed_box,
    sample_open_below_box,
    upper_half,
)

FAMILY_ID = 4


@dataclass(frozen=True)
class FeynmanEquation:
    """One benchmark equation; ``variables`` gives (name, low, high) in column order."""

    feynman_id: str
    output: str
    expression: str
    variables: tuple[tuple[str, float, float], ...]
    function: Callable[..., np.ndarray]

    @property
    def bounds(self) -> Bounds:
        return tuple((lo, hi) for _, lo, hi in self.variables)

    @property
    def formula(self) -> str:
        return f"{self.output} = {self.expression}"


def _uniform(names: str, lo: float, hi: float) -> tuple[tuple[str, float, float], ...]:
    return tuple((name, lo, hi) for name in names.split())


EQUATIONS: tuple[FeynmanEquation, ...] = (
    FeynmanEquation(
        "I.6.20a",
        "f",
        "exp(-theta**2/2)/sqrt(2*pi)",
        _uniform("theta", 1.0, 3.0),
        lambda theta: np.exp(-(theta**2) / 2) / np.sqrt(2 * np.pi),
    ),
    FeynmanEquation(
        "I.10.7",
        "m",
        "m_0/sqrt(1-v**2/c**2)",
        (("m_0", 1.0, 5.0), ("v", 1.0, 2.0), ("c", 3.0, 10.0)),
        lambda m_0, v, c: m_0 / np.sqrt(1 - v**2 / c**2),
    ),
    FeynmanEquation("I.12.1", "F", "mu*Nn", _uniform("mu Nn", 1.0, 5.0), lambda mu, nn: mu * nn),
    FeynmanEquation("I.12.5", "F", "q2*Ef", _uniform("q2 Ef", 1.0, 5.0), lambda q2, ef: q2 * ef),
    FeynmanEquation("I.14.3", "U", "m*g*z", _uniform("m g z", 1.0, 5.0), lambda m, g, z: m * g * z),
    FeynmanEquation(
        "I.18.4",
        "r",
        "(m1*r1+m2*r2)/(m1+m2)",
        _uniform("m1 m2 r1 r2", 1.0, 5.0),
        lambda m1, m2, r1, r2: (m1 * r1 + m2 * r2) / (m1 + m2),
    ),
    FeynmanEquation("I.25.13", "Volt", "q/C", _uniform("q C", 1.0, 5.0), lambda q, c: q / c),
    FeynmanEquation(
        "I.29.4", "k", "omega/c", _uniform("omega c", 1.0, 10.0), lambda omega, c: omega / c
    ),
    FeynmanEquation(
        "I.34.27",
        "E_n",
        "(h/(2*pi))*omega",
        _uniform("omega h", 1.0, 5.0),
        lambda omega, h: (h / (2 * np.pi)) * omega,
    ),
    FeynmanEquation(
        "I.37.4",
        "Int",
        "I1+I2+2*sqrt(I1*I2)*cos(delta)",
        _uniform("I1 I2 delta", 1.0, 5.0),
        lambda i1, i2, delta: i1 + i2 + 2 * np.sqrt(i1 * i2) * np.cos(delta),
    ),
    FeynmanEquation(
        "I.39.10", "E_n", "3/2*pr*V", _uniform("pr V", 1.0, 5.0), lambda pr, v: 3 / 2 * pr * v
    ),
    FeynmanEquation(
        "II.3.24",
        "flux",
        "Pwr/(4*pi*r**2)",
        _uniform("Pwr r", 1.0, 5.0),
        lambda pwr, r: pwr / (4 * np.pi * r**2),
    ),
    FeynmanEquation(
        "II.27.18",
        "E_den",
        "epsilon*Ef**2",
        _uniform("epsilon Ef", 1.0, 5.0),
        lambda epsilon, ef: epsilon * ef**2,
    ),
)

DESCRIPTION = (
    f"Feynman: {len(EQUATIONS)} physics equations from the AI Feynman benchmark (Udrescu & "
    "Tegmark 2020), with 1 to 4 inputs each: power laws and ratios such as m*g*z or "
    "Pwr/(4*pi*r**2), a Gaussian, a relativistic mass and an interference term. Each input has "
    "the benchmark's sampling range [lo, hi] (mostly [1, 5]). Models train with every input in "
    "the lower half [lo, (lo+hi)/2] of its range; the OOD test set has every input in the upper "
    "half ((lo+hi)/2, hi], so targets must be extrapolated jointly along all inputs. The "
    "instances carry no drawn constants: the seed only changes the samples."
)


def _spec(equation: FeynmanEquation) -> TargetSpec:
    def target(x: np.ndarray) -> np.ndarray:
        return equation.function(*x.T)

    bounds = equation.bounds
    return TargetSpec(
        name=equation.feynman_id,
        formula=equation.formula,
        input_dim=len(bounds),
        target=target,
        sample_train=lambda rng, n: sample_closed_box(rng, lower_half(bounds), n),
        sample_test=lambda rng, n: sample_open_below_box(rng, upper_half(bounds), n),
    )


def build_instance(index: int, streams: Streams, sizes: TaskSizes, region: str) -> TaskInstance:
    """Builds equation ``index`` of EQUATIONS; its target stream is spawned but unused.

    Its regions are the lower and upper halves of each variable's own range under every
    region protocol (an equation is not defined on [0, 1] for every variable).
    """
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; choose from {', '.join(REGIONS)}")
    return _spec(EQUATIONS[index]).build(streams, sizes)


FAMILY = FamilySpec(
    name="Feynman",
    family_id=FAMILY_ID,
    description=DESCRIPTION,
    default_instances=len(EQUATIONS),
    max_instances=len(EQUATIONS),
    build_instance=build_instance,
)
