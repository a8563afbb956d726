"""A long-lived evaluation server on loopback: JSON over HTTP, for evolvers that shell out.

A framework that runs one process per program (ShinkaEvolve, `actgym eval` in a loop)
pays the cold start, 20-50 s, on every program. This server keeps one Evaluator per
settings and fidelity warm, with its result cache, sandbox and training processes:

    actgym eval-server --port 8765              # then, per program:
    actgym eval program.py --server http://127.0.0.1:8765 --no-references --json

    POST /evaluate {"source": "...", "task": "Suite", "fast": false, "fidelity": "full", ...}
      -> {"metrics": {...}, "artifacts": {...}, "result": EvaluationResult.to_dict()}
    GET /health -> {"ok": true}

Request fields other than `source` and `fidelity` are `EvaluatorSettings`. Candidates
run in the Evaluator's sandbox and training processes, never in the server's own; the
server listens on 127.0.0.1 unless told otherwise and holds no secret. A body over
MAX_BODY_BYTES is refused (413) before it is read whole. Requests are scored one at a time
(training uses every core).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.fidelity import FIDELITIES
from actgym.integrations.scoring import summary
from actgym.integrations.settings import EvaluatorSettings, process_evaluator
from actgym.leaderboard.middleware import BodyLimit


class EvaluationRequest(BaseModel):
    """A source and its fidelity; every other field is an `EvaluatorSettings` field,
    checked there (an unknown name or a wrong type is refused, naming it)."""

    model_config = ConfigDict(extra="allow")

    source: str = Field(max_length=MAX_SOURCE_CHARS)
    fidelity: str = "full"


MAX_BODY_BYTES = 8 * MAX_SOURCE_CHARS + 64 * 1024
"""The longest source, every character JSON-escaped (`\\uXXXX`), and its settings."""


def create_app() -> FastAPI:
    app = FastAPI(title="actgym evaluation server", docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)  # before any JSON is parsed
    one_at_a_time = threading.Lock()

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/evaluate")
    async def evaluate(request: EvaluationRequest) -> dict[str, Any]:
        if request.fidelity not in FIDELITIES:
            raise HTTPException(422, f"fidelity must be one of {', '.join(FIDELITIES)}")
        try:
            settings = EvaluatorSettings.from_args(dict(request.model_extra or {}))
        except ValueError as error:
            raise HTTPException(422, str(error)) from None

        def score() -> dict[str, Any]:
            with one_at_a_time:
                evaluator = process_evaluator(settings, request.fidelity)
                result = evaluator.evaluate(request.source)
            return summary(result) | {"result": result.to_dict()}

        return await run_in_threadpool(score)

    return app
