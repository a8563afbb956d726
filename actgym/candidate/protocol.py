"""The sandbox's wire format, defined once: one JSON line per request and per reply.

Three processes speak it. The trainer (`sandbox`) sends a `Request` to the fork server
(`server`), which forks a child (`worker`) that writes one `Reply` and exits. The child
may be running hostile code, so what it writes is only bytes: the server keeps a reply's
known fields and bounds it (`sanitise_reply`), and the trainer checks it again
(`read_reply`, `unpack`), sanitising the message where it enters the trusted side. Each
line between trainer and server carries the request's id, so a late or forged answer is
never taken for the current one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Required, TypedDict

from actgym.candidate.limits import MAX_MESSAGE_CHARS, CandidateLimits
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.untrusted_text import sanitise

MAX_REPLY_BYTES = 8 * 1024 * 1024
"""The most a child may write; a longer reply is dropped unread (`worker_crashed`)."""
_REASON_CODES = frozenset(reason.value for reason in Reason)


@dataclass(frozen=True)
class Request:
    """One candidate to check: its source, the input shape and the bounds it runs under.

    `required_layers` names the OS layers that must hold in the child, else it runs nothing.
    """

    source: str
    shape: tuple[int, ...]
    limits: CandidateLimits
    required_layers: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, message: Mapping[str, Any]) -> Request:
        """The request in `message`, a decoded line; its id is the envelope's, not read here."""
        return cls(
            source=message["source"],
            shape=tuple(int(size) for size in message["shape"]),
            limits=CandidateLimits(**message["limits"]),
            required_layers=frozenset(str(name) for name in message.get("required_layers", ())),
        )


class Reply(TypedDict, total=False):
    """A verdict: `status` is a `Reason` code; `program` comes with `ok`, `message` without."""

    status: Required[str]
    message: str
    program: dict[str, Any]


def ok(program: dict[str, Any]) -> Reply:
    return {"status": Reason.OK.value, "program": program}


def failure(reason: Reason, message: str) -> Reply:
    return {"status": reason.value, "message": message[:MAX_MESSAGE_CHARS]}


# ----------------------------------------------------------------------------------------
# Trainer -> server


def encode_request(request_id: int, request: Request) -> bytes:
    message = {
        "id": request_id,
        "source": request.source,
        "shape": list(request.shape),
        "limits": dataclasses.asdict(request.limits),
        "required_layers": sorted(request.required_layers),
    }
    return _line(message)


# ----------------------------------------------------------------------------------------
# Child -> server


def encode_reply(reply: Mapping[str, Any]) -> bytes:
    """What the child writes to its reply channel: one strict JSON object (no NaN)."""
    return json.dumps(reply, allow_nan=False).encode()


def sanitise_reply(payload: bytes) -> Reply:
    """Keep only the fields a reply may have: the child is untrusted and may forge it."""
    try:
        reply = json.loads(payload)
    except (ValueError, RecursionError):
        return failure(Reason.WORKER_CRASHED, "The worker's reply was not JSON.")
    if not isinstance(reply, dict) or reply.get("status") not in _REASON_CODES:
        return failure(Reason.WORKER_CRASHED, "The worker's reply was malformed.")
    if reply["status"] == Reason.OK.value:
        program = reply.get("program")
        if isinstance(program, dict):
            return ok(program)
        return failure(Reason.WORKER_CRASHED, "The worker's reply had no program.")
    return {"status": reply["status"], "message": str(reply.get("message", ""))[:MAX_MESSAGE_CHARS]}


# ----------------------------------------------------------------------------------------
# Server -> trainer


def answer(line: bytes, handle: Callable[[dict[str, Any]], Reply]) -> bytes:
    """The server's answer to one request line: `handle`'s reply under the request's id."""
    reply: Mapping[str, Any]
    try:
        message = json.loads(line)
        reply = {**handle(message), "id": message["id"]}
    except Exception as error:  # a bad request must not take the server down
        reply = failure(Reason.WORKER_CRASHED, f"Server error: {type(error).__name__}")
    return _line(reply)


def read_reply(line: bytes, request_id: int) -> Reply | None:
    """The server's reply to `request_id`, or None when the line is not that reply."""
    try:
        reply = json.loads(line)
    except ValueError:
        return None
    if not isinstance(reply, dict) or reply.get("id") != request_id:
        return None
    return reply


def unpack(reply: Reply) -> dict[str, Any]:
    """The untrusted program JSON of an `ok` reply; raise CandidateRejected for any other."""
    status = reply.get("status")
    if status == Reason.OK.value and isinstance(reply.get("program"), dict):
        return reply["program"]
    try:
        reason = Reason(status)
    except ValueError:
        reason = Reason.WORKER_CRASHED
    if reason is Reason.OK:
        reason = Reason.WORKER_CRASHED
    raise CandidateRejected(reason, sanitise(reply.get("message", "")))


def _line(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"
