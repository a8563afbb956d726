"""Fidelities: how much of the full evaluation one evaluation spends.

A low-fidelity evaluation trains each family's first 4 instances with one training seed,
against ReLU under the same cut, so its reward keeps its meaning (a log-ratio to ReLU) at
about a quarter of the compute (24% on the Suite). benchmarks/fidelity chose it over 2
instances: on 200 random-grammar candidates on the Suite its rewards have a Spearman
correlation of 0.99 with full fidelity's, and screening all of them with it, then
promoting the best 5% to full fidelity, finds 9 of the full-fidelity top 10 for 31% of
the compute. It screens; only full-fidelity rewards rank or are submittable.

A search charges each evaluation its fidelity's `charge`, in full evaluations: a low one
costs 1/4, its measured compute share rounded to a fraction that sums exactly in binary
floating point, so a run's budget is spent to the last quarter whatever machine ran it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from actgym.config import EvaluationConfig


@dataclass(frozen=True)
class Fidelity:
    """A cut of the full evaluation: instances per family and training seeds kept, and
    what one evaluation at it is charged, in full evaluations."""

    name: str
    num_instances: int | None = None
    seeds: int | None = None
    charge: float = 1.0

    def applied(self, config: EvaluationConfig) -> EvaluationConfig:
        """`config` at this fidelity (the full fidelity is `config` itself)."""
        trainer = config.trainer
        if self.seeds is not None:
            trainer = dataclasses.replace(trainer, seeds=trainer.seeds[: self.seeds])
        instances = config.num_instances
        if self.num_instances is not None:
            instances = min(self.num_instances, instances or self.num_instances)
        return dataclasses.replace(config, trainer=trainer, num_instances=instances)


FULL = Fidelity("full")
LOW = Fidelity("low", num_instances=4, seeds=1, charge=0.25)
FIDELITIES: dict[str, Fidelity] = {fidelity.name: fidelity for fidelity in (FULL, LOW)}


def get_fidelity(name: str) -> Fidelity:
    if name not in FIDELITIES:
        raise ValueError(f"unknown fidelity {name!r}; choose from {', '.join(FIDELITIES)}")
    return FIDELITIES[name]
