"""Harmonics: sums of a few sines in one input, periodic on the training interval.

Periodic targets separate activations that can keep oscillating outside the training interval
(sinusoidal or otherwise periodic units) from those that saturate or grow without bound. For
that to be a fair question, the period must be visible in the training data: angular
frequencies are pi times an integer from 2 to 5, so the slowest component completes at least
two periods on [-1, 1] and the whole target has period 2. The OOD shell 1 < |x| <= 2 is then
exactly one more period on each side: a model that learned the periodic structure can predict
it. Frequencies drawn without replacement keep every instance a genuine mix of distinct
periods, and amplitudes bounded away from zero keep each component visible in the loss.
"""

import numpy as np

from actgym.tasks.base import (
    TargetSpec,
    generated_family,
    one_d_target,
)

FAMILY_ID = 1
NUM_COMPONENTS = 3
FREQUENCIES = (2, 3, 4, 5)
"""Multiples of pi: the target's angular frequencies are pi * f."""
AMPLITUDE_RANGE = (0.5, 1.5)
DEFAULT_INSTANCES = 24
"""Harmonics needs the most instances: how a non-periodic network wanders outside the data
varies from target to target, and the ranking must not depend on four draws."""

DESCRIPTION = (
    "Harmonics: 1-D periodic regression. Each target is "
    "y = sum_{k=1..3} a_k*sin(pi*f_k*x + phi_k) with three distinct integers f_k from "
    "{2, 3, 4, 5}, amplitudes a_k ~ U[0.5, 1.5] and phases phi_k ~ U[0, 2*pi), so the target "
    "has period 2 and its slowest component completes at least two periods in training. "
    "Models train on x in [-1, 1]; the OOD test set is 1 < |x| <= 2 on both sides, one more "
    "period of the same function, so a model must continue the oscillation it has seen."
)


def _draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frequencies = np.sort(rng.choice(FREQUENCIES, size=NUM_COMPONENTS, replace=False))
    amplitudes = rng.uniform(*AMPLITUDE_RANGE, size=NUM_COMPONENTS)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=NUM_COMPONENTS)
    return frequencies, amplitudes, phases


def _spec(index: int, rng: np.random.Generator) -> TargetSpec:
    frequencies, amplitudes, phases = _draw(rng)

    def target(x: np.ndarray) -> np.ndarray:
        return np.sin(np.pi * x * frequencies + phases) @ amplitudes

    terms = [
        (a, f"sin({f}*pi*x + {phi:.3g})")
        for a, f, phi in zip(amplitudes, frequencies, phases, strict=True)
    ]
    params = tuple(
        (f"{key}{k + 1}", float(value))
        for k in range(NUM_COMPONENTS)
        for key, value in (("a", amplitudes[k]), ("f", frequencies[k]), ("phi", phases[k]))
    )
    return one_d_target(f"harmonics-{index}", terms, target, params)


FAMILY = generated_family("Harmonics", FAMILY_ID, DESCRIPTION, DEFAULT_INSTANCES, _spec)
