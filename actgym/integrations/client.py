"""The evaluation server's client: `actgym eval --server URL` and the ShinkaEvolve adapter."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from actgym.integrations.settings import EvaluatorSettings
from actgym.result import EvaluationResult

if TYPE_CHECKING:
    import httpx

TIMEOUT_S = 3600.0
"""A full Suite evaluation at default settings takes minutes on a 2-core CPU."""


class ServerError(RuntimeError):
    """The evaluation server could not be reached or refused the request (it says why)."""


def evaluate_remotely(
    url: str, source: str, settings: EvaluatorSettings, fidelity: str = "full"
) -> EvaluationResult:
    """`source` scored by the evaluation server at `url` (actgym.integrations.server)."""
    try:
        import httpx
    except ImportError as missing:
        raise ServerError(
            "the server client needs httpx: pip install 'actgym[leaderboard]'"
        ) from missing
    body = {"source": source, "fidelity": fidelity, **dataclasses.asdict(settings)}
    try:
        response = httpx.post(f"{url.rstrip('/')}/evaluate", json=body, timeout=TIMEOUT_S)
    except httpx.HTTPError as error:
        raise ServerError(f"cannot reach the evaluation server at {url}: {error}") from None
    if response.status_code != 200:
        detail = _detail(response)
        raise ServerError(
            f"the evaluation server refused the request ({response.status_code}): {detail}"
        )
    return EvaluationResult.from_dict(response.json()["result"])


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text[:500]
