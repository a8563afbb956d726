"""Spectral candidates: `fft` and complex64 intermediates, as the paper's FISG needs.

FISG ("Fourier-Informed Spectral Gating", paper appendix; see docs/candidates.md) takes an
FFT along the feature axis, gates on the share of high-frequency energy under
`stop_gradient`, conjugates the high-frequency phase and transforms back. Complex values
may only live between an `fft` and the float32 output; complex128 and float64 never.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sources import activation

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.probe import probe
from actgym.candidate.program import load_program
from actgym.candidate.program_writer import program_from_jaxpr
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.worker import analyse_source

WIDTH = 16

FISG = """import jax
import jax.numpy as jnp

K = 4.0


def activation_function(x):
    n = x.shape[-1]
    spectrum = jnp.fft.rfft(x)
    cut = spectrum.shape[-1] // 2
    power = jnp.abs(spectrum) ** 2
    imbalance = jax.lax.stop_gradient(jnp.sum(power[cut:]) / (jnp.sum(power) + 1e-6))
    gate = jnp.exp(-K * imbalance)
    modified = jnp.concatenate([spectrum[:cut], jnp.conj(spectrum[cut:])])
    modified_x = jnp.fft.irfft(modified, n=n)
    return gate * x + (1 - gate) * modified_x
"""


def fisg(x: jax.Array, k: float = 4.0) -> jax.Array:
    """FISG written directly in jax, to compare the loaded program with."""
    spectrum = jnp.fft.rfft(x)
    cut = spectrum.shape[-1] // 2
    power = jnp.abs(spectrum) ** 2
    imbalance = jax.lax.stop_gradient(jnp.sum(power[cut:]) / (jnp.sum(power) + 1e-6))
    gate = jnp.exp(-k * imbalance)
    modified = jnp.concatenate([spectrum[:cut], jnp.conj(spectrum[cut:])])
    return gate * x + (1 - gate) * jnp.fft.irfft(modified, n=x.shape[-1])


def analysed(source: str) -> dict[str, Any]:
    return analyse_source(source, (WIDTH,), CandidateLimits())


def traced(source: str) -> dict[str, Any]:
    reply = analysed(source)
    assert reply["status"] == "ok", reply
    return reply["program"]


def points() -> list[jax.Array]:
    rng = np.random.default_rng(0)
    return [
        jnp.linspace(-6.0, 6.0, WIDTH, dtype=jnp.float32),
        jnp.asarray(rng.normal(size=WIDTH) * 3, dtype=jnp.float32),
        jnp.asarray(np.cos(np.arange(WIDTH) * 2.9), dtype=jnp.float32),
    ]


def assert_same_function(program: Any, reference: Any) -> None:
    for x in points():
        np.testing.assert_allclose(
            np.asarray(program(x)), np.asarray(reference(x)), rtol=1e-5, atol=1e-5
        )
        loss = lambda f: lambda v: jnp.sum(jnp.sin(jnp.arange(WIDTH)) * f(v))  # noqa: E731
        np.testing.assert_allclose(
            np.asarray(jax.grad(loss(program))(x)),
            np.asarray(jax.grad(loss(reference))(x)),
            rtol=1e-4,
            atol=1e-5,
        )


def test_fisg_traces_loads_and_is_differentiable() -> None:
    data = traced(FISG)
    primitives = {eqn["primitive"] for eqn in data["eqns"]}
    assert {"fft", "conj", "abs", "pad", "stop_gradient"} <= primitives
    program = load_program(data, shape=(WIDTH,))  # includes the bound after differentiation
    assert program.flops_per_element <= CandidateLimits().flops_budget
    assert_same_function(program, fisg)
    result = probe(program)
    assert result.locality == "feature-coupled"


def test_fisg_gates_on_high_frequency_energy() -> None:
    program = load_program(traced(FISG), shape=(WIDTH,))
    smooth = jnp.linspace(0.0, 1.0, WIDTH, dtype=jnp.float32)
    rough = jnp.sin(2 * jnp.pi * 6 * jnp.arange(WIDTH, dtype=jnp.float32) / WIDTH + 0.3)
    assert np.allclose(np.asarray(program(smooth)), np.asarray(smooth), atol=0.1)
    assert not np.allclose(np.asarray(program(rough)), np.asarray(rough), atol=0.1)


SPECTRAL = {
    "rfft round trip": "jnp.fft.irfft(jnp.fft.rfft(x), n=16)",
    "low pass": "jnp.fft.irfft(jnp.fft.rfft(x) * (jnp.arange(9) < 4), n=16)",
    "complex literal": "jnp.fft.irfft(jnp.fft.rfft(x) * (0.5 + 0.25j), n=16)",
    "magnitude": "x + jnp.concatenate([jnp.abs(jnp.fft.rfft(x))] * 2)[:16]",
    "phase": "jnp.fft.irfft(jnp.exp(1j * jnp.angle(jnp.fft.rfft(x))), n=16)",
    "complex fft": "jnp.real(jnp.fft.ifft(jnp.fft.fft(x) * jnp.conj(jnp.fft.fft(x))))",
    "real and imaginary": "jnp.real(jnp.fft.fft(x)) * jnp.imag(jnp.fft.fft(jnp.sin(x)))",
}


@pytest.mark.parametrize("name", sorted(SPECTRAL))
def test_spectral_programs_compute_what_jax_computes(name: str) -> None:
    source = activation(SPECTRAL[name])
    program = load_program(traced(source), shape=(WIDTH,))
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # the test's own source, not a candidate's
    assert_same_function(program, namespace["activation_function"])


def test_fft_cost_is_five_n_log2_n_per_transform() -> None:
    program = load_program(traced(activation(SPECTRAL["rfft round trip"])), shape=(WIDTH,))
    transform = 5 * WIDTH * math.log2(WIDTH)
    # irfft pads its complex input with a zero converted to complex64: copies, each 4x
    pad = 4.0 * (WIDTH // 2 + 1) + 4.0
    assert program.flops_per_element == pytest.approx((2 * transform + pad) / WIDTH)


def test_complex_elementwise_costs_four_times_real() -> None:
    real = load_program(traced(activation("x * x")), shape=(WIDTH,))
    spectrum = "jnp.fft.irfft(jnp.fft.rfft(x){}, n=16)"
    plain = load_program(traced(activation(spectrum.format(""))), shape=(WIDTH,))
    scaled = load_program(traced(activation(spectrum.format(" * 0.5"))), shape=(WIDTH,))
    per_bin = (scaled.flops_per_element - plain.flops_per_element) * WIDTH / (WIDTH // 2 + 1)
    assert per_bin == pytest.approx(4 * real.flops_per_element)


def test_many_large_ffts_are_over_budget() -> None:
    bomb = "sum(jnp.fft.irfft(jnp.fft.rfft(x * k, n=4096), n=4096)[:16] for k in range(8))"
    program = load_program(traced(activation(bomb)), shape=(WIDTH,))
    assert program.flops_per_element > 100 * CandidateLimits().flops_budget


def test_a_complex_output_is_refused() -> None:
    reply = analysed(activation("jnp.fft.fft(x)"))
    assert reply["status"] == Reason.BAD_OUTPUT.value
    data = traced(activation("jnp.real(jnp.fft.fft(x))"))
    forged = copy.deepcopy(data)
    fft_output = next(
        index for index, eqn in enumerate(forged["eqns"]) if eqn["primitive"] == "fft"
    )
    forged["output"] = {"v": 1 + len(forged["consts"]) + fft_output}
    with pytest.raises(CandidateRejected) as error:
        load_program(forged, shape=(WIDTH,))
    assert error.value.reason is Reason.INVALID_PROGRAM


def test_complex128_and_float64_are_refused_when_traced() -> None:
    spec = jax.ShapeDtypeStruct((WIDTH,), jnp.float32)
    with jax.enable_x64(True):
        for body in (
            lambda x: jnp.real(jnp.fft.fft(x.astype(jnp.float64))).astype(jnp.float32),
            lambda x: jnp.real(jnp.fft.fft(x.astype(jnp.complex128))).astype(jnp.float32),
            lambda x: jnp.real(jnp.fft.fft(x) * np.complex128(2j)).astype(jnp.float32),
        ):
            closed = jax.make_jaxpr(body)(spec)
            with pytest.raises(CandidateRejected) as error:
                program_from_jaxpr(closed, CandidateLimits())
            assert error.value.reason is Reason.BAD_OUTPUT
            assert "64" in error.value.message


def _forged(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(traced(activation(SPECTRAL["complex literal"])))
    change(data)
    return data


def _complex_literal(data: dict[str, Any]) -> dict[str, Any]:
    return next(
        atom
        for eqn in data["eqns"]
        for atom in eqn["inputs"]
        if atom.get("dtype") == "complex64" and "lit" in atom
    )


def _set_output_dtype(dtype: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        eqn = next(eqn for eqn in data["eqns"] if eqn["primitive"] == "fft")
        eqn["outputs"][0]["dtype"] = dtype

    return change


def _set_literal(key: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        _complex_literal(data)[key] = value

    return change


def _complex_constant(data: dict[str, Any]) -> None:
    data["consts"].append({"shape": [1], "dtype": "complex64", "data": "AAAAAAAAAAA="})


def _convert_to(dtype: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        eqn = next(eqn for eqn in data["eqns"] if eqn["primitive"] == "convert_element_type")
        eqn["params"]["new_dtype"] = {"dtype": dtype}

    return change


FORGED = {
    "complex128 intermediate": (_set_output_dtype("complex128"), Reason.BAD_OUTPUT),
    "float64 intermediate": (_set_output_dtype("float64"), Reason.BAD_OUTPUT),
    "complex128 literal": (_set_literal("dtype", "complex128"), Reason.INVALID_PROGRAM),
    "complex literal as a float": (
        _set_literal("lit", {"float": (0.5).hex()}),
        Reason.INVALID_PROGRAM,
    ),
    "complex literal one part": (
        _set_literal("lit", {"complex": [(0.5).hex()]}),
        Reason.INVALID_PROGRAM,
    ),
    "complex literal numbers": (
        _set_literal("lit", {"complex": [0.5, 0.25]}),
        Reason.INVALID_PROGRAM,
    ),
    "complex literal extra key": (
        _set_literal("lit", {"complex": ["0x1p0", "0x0p0"], "x": 1}),
        Reason.INVALID_PROGRAM,
    ),
    "complex literal long text": (
        _set_literal("lit", {"complex": ["0x1p0" + "0" * 10**6, "0x0p0"]}),
        Reason.INVALID_PROGRAM,
    ),
    "complex constant": (_complex_constant, Reason.INVALID_PROGRAM),
    "convert to complex128": (_convert_to("complex128"), Reason.INVALID_PROGRAM),
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_forged_complex_data_is_refused(case: str) -> None:
    change, reason = FORGED[case]
    with pytest.raises(CandidateRejected) as error:
        load_program(_forged(change), shape=(WIDTH,))
    assert error.value.reason is reason, error.value.message


def test_the_unforged_complex_literal_loads() -> None:
    data = traced(activation(SPECTRAL["complex literal"]))
    assert _complex_literal(data)["lit"] == {"complex": [(0.5).hex(), (0.25).hex()]}
    load_program(data, shape=(WIDTH,))
