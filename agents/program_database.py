"""The evolver's memory: islands of MAP-Elites archives over evaluated programs.

AlphaEvolve-style search needs both pressure (mutate the best) and diversity (keep
different kinds of good functions alive). Islands evolve apart and exchange their best
programs every `migration_interval` additions; inside an island, a MAP-Elites grid keeps
the best program of each behaviour cell. Cells (documented in docs/agents.md):

- cost: flops per element in [0, 8), [8, 32), [32, 96), [96, inf);
- left and right asymptotic slope (secants on [-20, -10] and [10, 20]): below -0.25,
  within 0.25 of 0, up to 1.25, above;
- oscillation: whether the derivative changes sign more than twice on [-10, 10].

The whole database is plain JSON (`state()` / `from_state()`), so a killed run resumes
with its islands intact.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from actgym.candidate.reasons import Reason

COST_EDGES = (8.0, 32.0, 96.0)
SLOPE_EDGES = (-0.25, 0.25, 1.25)
Cell = tuple[int, int, int, int]


@dataclass(frozen=True)
class ArchiveEntry:
    """One evaluated candidate as the evolver remembers it."""

    id: int
    source: str
    reward: float
    status: str
    message: str = ""
    flops_per_element: float = 0.0
    descriptors: dict[str, float] = field(default_factory=dict)
    island: int = 0
    generation: int = 0
    parent_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == Reason.OK

    def cell(self) -> Cell:
        slopes = [
            bisect.bisect(SLOPE_EDGES, self.descriptors.get(key, 0.0))
            for key in ("left_slope", "right_slope")
        ]
        oscillates = int(self.descriptors.get("oscillation", 0.0) > 2)
        return (bisect.bisect(COST_EDGES, self.flops_per_element), *slopes, oscillates)


@dataclass
class ProgramDatabase:
    num_islands: int = 4
    migration_interval: int = 24
    exploitation: float = 0.7
    temperature: float = 0.5
    islands: list[dict[Cell, ArchiveEntry]] = field(default_factory=list)
    failures: list[ArchiveEntry] = field(default_factory=list)
    additions: int = 0

    def __post_init__(self) -> None:
        if not self.islands:
            self.islands = [{} for _ in range(self.num_islands)]

    def add(self, program: ArchiveEntry) -> bool:
        """Keep `program` if it is the best of its cell on its island; count toward migration."""
        self.additions += 1
        placed = False
        if program.ok:
            archive = self.islands[program.island % self.num_islands]
            cell = program.cell()
            incumbent = archive.get(cell)
            if incumbent is None or program.reward > incumbent.reward:
                archive[cell] = program
                placed = True
        else:
            self.failures = [*self.failures[-19:], program]
        if self.additions % self.migration_interval == 0:
            self.migrate()
        return placed

    def migrate(self) -> None:
        """Ring migration: each island's best program enters the next island's archive."""
        bests = [self.best(island) for island in range(self.num_islands)]
        for island, best in enumerate(bests):
            if best is None:
                continue
            target = self.islands[(island + 1) % self.num_islands]
            incumbent = target.get(best.cell())
            if incumbent is None or best.reward > incumbent.reward:
                target[best.cell()] = best

    def best(self, island: int | None = None) -> ArchiveEntry | None:
        archives = self.islands if island is None else [self.islands[island]]
        programs = [program for archive in archives for program in archive.values()]
        return max(programs, key=lambda program: program.reward, default=None)

    def sample_parent(self, island: int, rng: np.random.Generator) -> ArchiveEntry | None:
        """Exploit (a softmax over rewards) or explore (a uniform cell) within the island."""
        programs = list(self.islands[island].values()) or [
            program for archive in self.islands for program in archive.values()
        ]
        if not programs:
            return None
        if rng.random() < self.exploitation:
            rewards = np.asarray([program.reward for program in programs])
            weights = np.exp((rewards - rewards.max()) / max(self.temperature, 1e-6))
            return programs[int(rng.choice(len(programs), p=weights / weights.sum()))]
        return programs[int(rng.integers(len(programs)))]

    def inspirations(
        self, island: int, parent: ArchiveEntry | None, count: int, rng: np.random.Generator
    ) -> list[ArchiveEntry]:
        """The island's top programs of other cells, then random ones from anywhere."""
        others = [
            program
            for program in self.islands[island].values()
            if parent is None or program.id != parent.id
        ]
        chosen = sorted(others, key=lambda program: -program.reward)[: max(count - 1, 0)]
        pool = [
            program
            for archive in self.islands
            for program in archive.values()
            if program not in chosen and (parent is None or program.id != parent.id)
        ]
        if pool and len(chosen) < count:
            chosen.append(pool[int(rng.integers(len(pool)))])
        return chosen[:count]

    def recent_failures(self, count: int) -> list[ArchiveEntry]:
        return self.failures[-count:]

    def state(self) -> dict[str, Any]:
        return {
            "num_islands": self.num_islands,
            "migration_interval": self.migration_interval,
            "exploitation": self.exploitation,
            "temperature": self.temperature,
            "additions": self.additions,
            "islands": [
                [asdict(program) for program in archive.values()] for archive in self.islands
            ],
            "failures": [asdict(program) for program in self.failures],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ProgramDatabase:
        islands = [
            {(program := ArchiveEntry(**item)).cell(): program for item in archive}
            for archive in state["islands"]
        ]
        return cls(
            num_islands=state["num_islands"],
            migration_interval=state["migration_interval"],
            exploitation=state["exploitation"],
            temperature=state["temperature"],
            islands=islands,
            failures=[ArchiveEntry(**item) for item in state["failures"]],
            additions=state["additions"],
        )
