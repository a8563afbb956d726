"""Random polynomial targets in one input (Poly1D) and in twenty inputs (Poly20D).

Polynomials grow without bound, so extrapolating them rewards activations whose networks keep
the right growth rate outside the training data rather than flattening out (saturating units)
or growing linearly only (piecewise-linear units). Poly1D isolates that effect in one variable;
Poly20D adds sparse interactions in a 20-dimensional input. Its training cube [-1, 1]^20 is
centred on zero, where products of variables are saddles and squares are bowls, so the
targets are clearly non-linear in training (a linear fit explains little); the OOD region
moves every variable out of the cube at once (1 < |x_j| <= 1.5), so errors in each learned
monomial compound.
"""

import numpy as np

from actgym.tasks.base import (
    TargetSpec,
    format_sum,
    generated_family,
    one_d_target,
    sample_cube,
    sample_cube_shell,
)

POLY1D_FAMILY_ID = 2
POLY1D_DEGREES = (3, 4, 5)
POLY1D_DEFAULT_INSTANCES = 16

POLY20D_FAMILY_ID = 3
POLY20D_INPUTS = 20
POLY20D_TERMS = 8
POLY20D_TRAIN_RADIUS = 1.0
POLY20D_OOD_RADIUS = 1.5
POLY20D_DEFAULT_INSTANCES = 12

EXPONENT_PATTERNS: dict[int, tuple[tuple[int, ...], ...]] = {
    1: ((1,), (2,)),
    2: ((1, 1), (1, 2), (2, 1)),
    3: ((1, 1, 1),),
}
"""Exponents in {1, 2} of a monomial in 1, 2 or 3 distinct variables with total degree <= 3."""

Monomial = tuple[tuple[int, int], ...]
"""(variable index, exponent) pairs with increasing variable index."""

POLY1D_DESCRIPTION = (
    "Poly1D: 1-D polynomial regression. Each target is y = sum_{i=0..d} c_i*x**i with degree "
    "d drawn uniformly from {3, 4, 5} and coefficients c_i ~ N(0, 1). Models train on x in "
    "[-1, 1]; the OOD test set is 1 < |x| <= 2 on both sides, where the highest-degree term "
    "dominates and targets grow quickly, so a model must extrapolate the polynomial's growth."
)

POLY20D_DESCRIPTION = (
    "Poly20D: sparse polynomial regression in 20 inputs x0..x19. Each target is a sum of 8 "
    "distinct monomials with coefficients ~ N(0, 1); each monomial multiplies 1 to 3 distinct "
    "variables with exponents in {1, 2} and total degree <= 3 (e.g. x3*x7**2). Models train "
    "with every variable in [-1, 1], where the products are clearly non-linear; the OOD test "
    "set has every variable outside that cube, 1 < |x_j| <= 1.5 with random signs, where a "
    "monomial of total degree g can reach 1.5**g times its largest training value."
)


def _poly1d_spec(index: int, rng: np.random.Generator) -> TargetSpec:
    degree = int(rng.choice(POLY1D_DEGREES))
    coefficients = rng.standard_normal(degree + 1)

    def target(x: np.ndarray) -> np.ndarray:
        return np.polynomial.polynomial.polyval(x[:, 0], coefficients)

    terms = [(coefficients[i], _power("x", i)) for i in range(degree, -1, -1)]
    params = (("degree", float(degree)), *((f"c{i}", float(c)) for i, c in enumerate(coefficients)))
    return one_d_target(f"poly1d-{index}", terms, target, params)


def _power(variable: str, exponent: int) -> str:
    return {0: "", 1: variable}.get(exponent, f"{variable}**{exponent}")


def _draw_monomial(rng: np.random.Generator) -> Monomial:
    num_variables = int(rng.integers(1, 4))
    variables = np.sort(rng.choice(POLY20D_INPUTS, size=num_variables, replace=False))
    patterns = EXPONENT_PATTERNS[num_variables]
    exponents = patterns[int(rng.integers(len(patterns)))]
    return tuple(zip(variables.tolist(), exponents, strict=True))


def _draw_monomials(rng: np.random.Generator) -> list[Monomial]:
    """Draws monomials until POLY20D_TERMS distinct ones are found, in draw order."""
    monomials: list[Monomial] = []
    while len(monomials) < POLY20D_TERMS:
        monomial = _draw_monomial(rng)
        if monomial not in monomials:
            monomials.append(monomial)
    return monomials


def _evaluate_monomial(x: np.ndarray, monomial: Monomial) -> np.ndarray:
    return np.prod([x[:, j] ** e for j, e in monomial], axis=0)


def _monomial_text(monomial: Monomial) -> str:
    return "*".join(_power(f"x{j}", e) for j, e in monomial)


def _poly20d_spec(index: int, rng: np.random.Generator) -> TargetSpec:
    monomials = _draw_monomials(rng)
    coefficients = rng.standard_normal(POLY20D_TERMS)

    def target(x: np.ndarray) -> np.ndarray:
        return sum(
            c * _evaluate_monomial(x, m) for c, m in zip(coefficients, monomials, strict=True)
        )

    terms = [(c, _monomial_text(m)) for c, m in zip(coefficients, monomials, strict=True)]
    params = tuple(
        (f"t{t + 1}.{name}", value)
        for t, (c, m) in enumerate(zip(coefficients, monomials, strict=True))
        for name, value in (("coef", float(c)), *((f"x{j}", float(e)) for j, e in m))
    )
    return TargetSpec(
        name=f"poly20d-{index}",
        formula=f"y = {format_sum(terms)}",
        input_dim=POLY20D_INPUTS,
        target=target,
        sample_train=lambda rng, n: sample_cube(rng, n, POLY20D_INPUTS, POLY20D_TRAIN_RADIUS),
        sample_test=lambda rng, n: sample_cube_shell(
            rng, n, POLY20D_INPUTS, POLY20D_TRAIN_RADIUS, POLY20D_OOD_RADIUS
        ),
        params=params,
    )


POLY1D_FAMILY = generated_family(
    "Poly1D", POLY1D_FAMILY_ID, POLY1D_DESCRIPTION, POLY1D_DEFAULT_INSTANCES, _poly1d_spec
)

POLY20D_FAMILY = generated_family(
    "Poly20D", POLY20D_FAMILY_ID, POLY20D_DESCRIPTION, POLY20D_DEFAULT_INSTANCES, _poly20d_spec
)
