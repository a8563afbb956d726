"""Synthetic regression tasks with a training region and a disjoint out-of-distribution region.

Activation functions are judged by how networks built from them extrapolate, so every task
pairs an in-distribution training range with a test range the network never sees. The suite
is pure numpy and deterministic so that scores are reproducible on any machine; see
docs/tasks.md for the exact formulas, ranges and seeding.
"""

from actgym.tasks.base import Split, TaskFamily, TaskInstance, TaskSizes
from actgym.tasks.registry import (
    ENV_IDS,
    SUITE,
    TASKS,
    families_of,
    family_description,
    family_names,
    make_family,
    make_suite,
)

__all__ = [
    "ENV_IDS",
    "SUITE",
    "TASKS",
    "Split",
    "TaskFamily",
    "TaskInstance",
    "TaskSizes",
    "families_of",
    "family_description",
    "family_names",
    "make_family",
    "make_suite",
]
