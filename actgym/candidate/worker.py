"""What runs inside the sandboxed child: candidate source in, program JSON out.

The fork server (`actgym.candidate.server`) imports this module once, before any JAX
backend starts, and forks one child per candidate that exits after one reply. The child
confines itself before it looks at the candidate; whatever the candidate does to the
process dies with it, and the reply is plain JSON that the trainer re-validates.
"""

from __future__ import annotations

import builtins
import os
import resource

import jax
import jax.numpy as jnp

from actgym.candidate import confinement
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.policy import (
    FUNCTION_NAME,
    SAFE_BUILTIN_NAMES,
    module_globals,
    parse_candidate,
)
from actgym.candidate.program_writer import program_from_jaxpr
from actgym.candidate.protocol import Reply, Request, encode_reply, failure, ok
from actgym.candidate.reasons import CandidateRejected, Reason


def analyse_source(source: str, shape: tuple[int, ...], limits: CandidateLimits) -> Reply:
    """Parse, police, execute and trace one candidate; never raises."""
    try:
        tree = parse_candidate(source, limits)
        namespace = module_globals()
        exec(compile(tree, "<candidate>", "exec"), namespace)
        function = namespace.get(FUNCTION_NAME)
        if not callable(function):
            raise CandidateRejected(
                Reason.MISSING_FUNCTION, f"`{FUNCTION_NAME}` is not a function."
            )
        spec = jax.ShapeDtypeStruct(shape, jnp.float32)
        closed = jax.make_jaxpr(function)(spec)
        return ok(program_from_jaxpr(closed, limits))
    except CandidateRejected as rejection:
        return failure(rejection.reason, rejection.message)
    except MemoryError:
        return failure(Reason.MEMORY_LIMIT, "The candidate ran out of memory while tracing.")
    except RecursionError:
        return failure(Reason.RUNTIME_ERROR, "Recursion too deep while tracing the candidate.")
    except BaseException as error:  # the candidate may raise anything; it ends as data
        message = _describe(error)
        if "RESOURCE_EXHAUSTED" in message:
            return failure(Reason.MEMORY_LIMIT, f"The memory limit was hit: {message}")
        return failure(Reason.RUNTIME_ERROR, message)


def _describe(error: BaseException) -> str:
    """The error as text, saying which builtins exist when a missing one was used."""
    name = getattr(error, "name", None)
    if isinstance(error, NameError) and isinstance(name, str) and hasattr(builtins, name):
        return (
            f"NameError: the builtin `{name}` is not available to candidates; "
            f"available: {', '.join(SAFE_BUILTIN_NAMES)}."
        )
    try:
        return f"{type(error).__name__}: {error}"
    except BaseException:  # str() of what the candidate raised may itself raise
        return type(error).__name__


def confine(limits: CandidateLimits) -> dict[str, str]:
    """Own process group (so the parent can kill everything), OS resource limits, then the
    OS layers (no network, exec, writes or other processes); returns the layers' report."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return confinement.apply()


def child_main(reply_fd: int, request: Request) -> None:
    """Entry point of the forked child: confine, analyse, reply once, exit hard.

    If a required layer did not hold, the candidate is neither parsed nor run.
    """
    try:
        _detach_standard_streams()
        missing = confinement.unmet(confine(request.limits), request.required_layers)
        reply = (
            _missing_layers(missing)
            if missing
            else analyse_source(request.source, request.shape, request.limits)
        )
        payload = encode_reply(reply)
        with os.fdopen(reply_fd, "wb") as channel:
            channel.write(payload)
    finally:
        os._exit(0)


def _missing_layers(missing: dict[str, str]) -> Reply:
    states = "; ".join(f"{name}: {state}" for name, state in missing.items())
    return failure(
        Reason.CONFINEMENT_MISSING,
        f"Strict confinement: required layers did not hold ({states}); nothing was run.",
    )


def _detach_standard_streams() -> None:
    """The server's stdin/stdout are its channel to the trainer: the child must not touch them."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
