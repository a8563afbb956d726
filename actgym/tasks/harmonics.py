"""Harmonics: sums of a few integer-frequency sines in one input.

Periodic targets separate activations that can keep oscillating outside the training interval
(sinusoidal or otherwise periodic units) from those that saturate or grow without bound. Integer
frequencies drawn without replacement keep every instance a genuine mix of distinct periods,
and amplitudes bounded away from zero keep each component visible in the loss.
"""

import numpy as np

from actgym.tasks.base import (
    FamilySpec,
    Streams,
    TargetSpec,
    TaskInstance,
    TaskSizes,
    format_sum,
    sample_interval,
    sample_shell,
)

FAMILY_ID = 1
NUM_COMPONENTS = 3
FREQUENCIES = (1, 2, 3, 4, 5)
AMPLITUDE_RANGE = (0.5, 1.5)
DEFAULT_INSTANCES = 4

DESCRIPTION = (
    "Harmonics: 1-D periodic regression. Each target is y = sum_{k=1..3} a_k*sin(f_k*x + phi_k) "
    "with three distinct integer frequencies f_k from {1,...,5}, amplitudes a_k ~ U[0.5, 1.5] "
    "and phases phi_k ~ U[0, 2*pi). Models train on x in [-1, 1]; the OOD test set is "
    "1 < |x| <= 2 on both sides, so a model must continue the oscillation it has only seen "
    "inside [-1, 1]."
)


def _draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frequencies = np.sort(rng.choice(FREQUENCIES, size=NUM_COMPONENTS, replace=False))
    amplitudes = rng.uniform(*AMPLITUDE_RANGE, size=NUM_COMPONENTS)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=NUM_COMPONENTS)
    return frequencies, amplitudes, phases


def _spec(index: int, rng: np.random.Generator) -> TargetSpec:
    frequencies, amplitudes, phases = _draw(rng)

    def target(x: np.ndarray) -> np.ndarray:
        return np.sin(x * frequencies + phases) @ amplitudes

    terms = [
        (a, f"sin({f}*x + {phi:.3g})")
        for a, f, phi in zip(amplitudes, frequencies, phases, strict=True)
    ]
    params = tuple(
        (f"{key}{k + 1}", float(value))
        for k in range(NUM_COMPONENTS)
        for key, value in (("a", amplitudes[k]), ("f", frequencies[k]), ("phi", phases[k]))
    )
    return TargetSpec(
        name=f"harmonics-{index}",
        formula=f"y = {format_sum(terms)}",
        input_dim=1,
        target=target,
        sample_train=sample_interval,
        sample_test=sample_shell,
        params=params,
    )


def build_instance(index: int, streams: Streams, sizes: TaskSizes) -> TaskInstance:
    """Builds instance ``index``: constants from the target stream, then the splits."""
    return _spec(index, streams.target).build(streams, sizes)


FAMILY = FamilySpec(
    name="Harmonics",
    family_id=FAMILY_ID,
    description=DESCRIPTION,
    default_instances=DEFAULT_INSTANCES,
    max_instances=None,
    build_instance=build_instance,
)
