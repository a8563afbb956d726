"""Tests of the task suite's contract with the trainer: shapes, regions, seeding, errors."""

import math

import numpy as np
import pytest

from actgym.tasks import (
    SUITE,
    TaskFamily,
    TaskInstance,
    TaskSizes,
    base,
    family_names,
    feynman,
    harmonics,
    make_family,
    polynomials,
)
from actgym.tasks.base import UNIT_HALVES

SMALL = TaskSizes(n_train=64, n_validation=32, n_test=48)
DEFAULT_COUNTS = {"Harmonics": 24, "Poly1D": 16, "Poly20D": 12, "Feynman": len(feynman.EQUATIONS)}
GENERATED = ("Harmonics", "Poly1D", "Poly20D")
FEYNMAN_BY_ID = {equation.feynman_id: equation for equation in feynman.EQUATIONS}


def _splits(instance: TaskInstance) -> dict[str, base.Split]:
    return {"train": instance.train, "validation": instance.validation, "test": instance.test}


def _fingerprint(family: TaskFamily) -> list[tuple]:
    return [
        (i.name, i.formula, i.params, *(s.x.tobytes() + s.y.tobytes() for s in _splits(i).values()))
        for i in family.instances
    ]


def _region_bounds(instance: TaskInstance) -> base.Bounds:
    """Full per-variable range whose lower half trains and upper half tests (Feynman)."""
    return FEYNMAN_BY_ID[instance.name].bounds


def test_family_names_are_the_suite() -> None:
    assert family_names() == SUITE == ("Harmonics", "Poly1D", "Poly20D", "Feynman")


@pytest.mark.parametrize("name", SUITE)
def test_default_family_builds(name: str) -> None:
    family = make_family(name)
    assert family.name == name
    assert len(family.description) > 100
    assert len(family.instances) == DEFAULT_COUNTS[name]
    assert len({i.name for i in family.instances}) == len(family.instances)
    sizes = TaskSizes()
    for instance in family.instances:
        assert instance.formula
        counts = {"train": sizes.n_train, "validation": sizes.n_validation, "test": sizes.n_test}
        for split_name, split in _splits(instance).items():
            assert split.x.shape == (counts[split_name], instance.input_dim)
            assert split.y.shape == (counts[split_name],)


@pytest.mark.parametrize("name", SUITE)
def test_arrays_are_float32_contiguous_finite_and_read_only(name: str) -> None:
    for instance in make_family(name, seed=3, sizes=SMALL).instances:
        for split in _splits(instance).values():
            for array in (split.x, split.y):
                assert array.dtype == np.float32
                assert array.flags.c_contiguous
                assert not array.flags.writeable
                assert np.all(np.isfinite(array))


@pytest.mark.parametrize("name", ["Harmonics", "Poly1D"])
def test_one_d_regions_are_disjoint(name: str) -> None:
    for instance in make_family(name, seed=1).instances:
        assert instance.input_dim == 1
        for split in (instance.train, instance.validation):
            assert np.all(np.abs(split.x) <= base.ONE_D_TRAIN_RADIUS)
        test_x = instance.test.x
        assert np.all(np.abs(test_x) > base.ONE_D_TRAIN_RADIUS)
        assert np.all(np.abs(test_x) <= base.ONE_D_OOD_RADIUS)
        assert np.any(test_x < 0) and np.any(test_x > 0)


def test_poly20d_leaves_the_training_cube_in_every_variable() -> None:
    inner, outer = polynomials.POLY20D_TRAIN_RADIUS, polynomials.POLY20D_OOD_RADIUS
    for instance in make_family("Poly20D", seed=1).instances:
        for split in (instance.train, instance.validation):
            assert np.all(np.abs(split.x) <= inner)
        test_x = instance.test.x
        assert np.all((np.abs(test_x) > inner) & (np.abs(test_x) <= outer))
        assert np.all(np.any(test_x < 0, axis=0) & np.any(test_x > 0, axis=0))


def test_box_regions_are_disjoint_per_variable() -> None:
    for instance in make_family("Feynman", seed=1).instances:
        bounds = _region_bounds(instance)
        assert len(bounds) == instance.input_dim
        lows, highs = (np.asarray(column, dtype=np.float32) for column in zip(*bounds, strict=True))
        mids = np.asarray([mid for _, mid in base.lower_half(bounds)], dtype=np.float32)
        for split in (instance.train, instance.validation):
            assert np.all((split.x >= lows) & (split.x <= mids))
        assert np.all((instance.test.x > mids) & (instance.test.x <= highs))
        assert np.all(instance.train.x.max(axis=0) < instance.test.x.min(axis=0))


def test_ood_sampler_never_returns_the_shared_boundary() -> None:
    rng = np.random.default_rng(0)
    x = base.sample_open_below_box(rng, ((0.5, 0.5 + 1e-9),), 1000)
    assert np.all(x > np.float32(0.5))


@pytest.mark.parametrize("name", SUITE)
def test_builds_are_bit_identical(name: str) -> None:
    first = make_family(name, seed=7, sizes=SMALL)
    second = make_family(name, seed=7, sizes=SMALL)
    assert _fingerprint(first) == _fingerprint(second)


def test_seed_sequence_layout_is_as_documented() -> None:
    seed, index = 5, 2
    child = np.random.SeedSequence([seed, harmonics.FAMILY_ID, index]).spawn(4)[1]
    expected = np.random.default_rng(child).uniform(-1.0, 1.0, size=(SMALL.n_train, 1))
    instance = make_family("Harmonics", seed=seed, num_instances=3, sizes=SMALL).instances[index]
    np.testing.assert_array_equal(instance.train.x, expected.astype(np.float32))


@pytest.mark.parametrize("name", GENERATED)
def test_different_seeds_give_different_targets(name: str) -> None:
    formulas = [{i.formula for i in make_family(name, seed=s).instances} for s in (0, 1)]
    assert formulas[0].isdisjoint(formulas[1])


def test_feynman_seeds_change_samples_only() -> None:
    first, second = (make_family("Feynman", seed=s, sizes=SMALL) for s in (0, 1))
    for a, b in zip(first.instances, second.instances, strict=True):
        assert a.formula == b.formula
        assert not np.array_equal(a.train.x, b.train.x)


@pytest.mark.parametrize("name", SUITE)
def test_sizes_do_not_change_targets(name: str) -> None:
    default = make_family(name)
    resized = make_family(name, sizes=TaskSizes(n_train=4096, n_validation=1024, n_test=7))
    small = make_family(name, sizes=SMALL)
    for a, b, c in zip(default.instances, resized.instances, small.instances, strict=True):
        assert a.formula == b.formula == c.formula
        assert a.params == b.params == c.params
        np.testing.assert_array_equal(a.train.x, b.train.x)
        np.testing.assert_array_equal(a.validation.y, b.validation.y)


@pytest.mark.parametrize("name", GENERATED)
def test_instances_do_not_depend_on_instance_count(name: str) -> None:
    few = make_family(name, num_instances=2, sizes=SMALL)
    many = make_family(name, num_instances=9, sizes=SMALL)
    assert _fingerprint(few) == _fingerprint(many)[:2]


def test_unknown_family_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown task family 'poly1d'") as error:
        make_family("poly1d")
    for name in SUITE:
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("name", "count"),
    [("Harmonics", 0), ("Poly20D", -3), ("Feynman", len(feynman.EQUATIONS) + 1)],
)
def test_bad_num_instances_raise(name: str, count: int) -> None:
    with pytest.raises(ValueError, match=f"num_instances for {name} must be"):
        make_family(name, num_instances=count)


def test_bad_seed_and_sizes_raise() -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make_family("Harmonics", seed=-1)
    with pytest.raises(ValueError, match=r"TaskSizes\.n_test must be >= 1"):
        TaskSizes(n_test=0)


def test_split_rejects_non_finite_targets() -> None:
    x = np.zeros((2, 1), dtype=np.float32)
    with pytest.raises(ValueError, match="finite"):
        base.Split(x=x, y=np.array([0.0, np.inf], dtype=np.float32))


def test_feynman_equations_are_unique_and_match_their_formulas() -> None:
    assert len(feynman.EQUATIONS) >= 8
    assert len(FEYNMAN_BY_ID) == len(feynman.EQUATIONS)
    namespace = {"exp": np.exp, "sqrt": np.sqrt, "cos": np.cos, "pi": np.pi}
    rng = np.random.default_rng(0)
    for equation in feynman.EQUATIONS:
        columns = base.sample_closed_box(rng, equation.bounds, 16).astype(np.float64).T
        names = [name for name, _, _ in equation.variables]
        evaluated = eval(
            equation.expression,
            {"__builtins__": {}, **namespace},
            dict(zip(names, columns, strict=True)),
        )
        np.testing.assert_allclose(equation.function(*columns), evaluated, rtol=1e-12)


def test_feynman_instances_follow_the_equation_list() -> None:
    family = make_family("Feynman", num_instances=3)
    for instance, equation in zip(family.instances, feynman.EQUATIONS[:3], strict=True):
        assert instance.name == equation.feynman_id
        assert instance.formula == equation.formula
        assert instance.params == ()


def test_harmonics_params_reconstruct_targets() -> None:
    for instance in make_family("Harmonics", seed=2, num_instances=8).instances:
        params = dict(instance.params)
        frequencies = [params[f"f{k}"] for k in (1, 2, 3)]
        assert all(f.is_integer() and 2 <= f <= 5 for f in frequencies)
        assert frequencies == sorted(set(frequencies))
        x = instance.test.x[:, 0].astype(np.float64)
        expected = sum(
            params[f"a{k}"] * np.sin(math.pi * params[f"f{k}"] * x + params[f"phi{k}"])
            for k in (1, 2, 3)
        )
        assert all(0.5 <= params[f"a{k}"] <= 1.5 for k in (1, 2, 3))
        assert all(0 <= params[f"phi{k}"] < 2 * math.pi for k in (1, 2, 3))
        np.testing.assert_allclose(instance.test.y, expected, rtol=1e-6, atol=1e-6)


def test_poly1d_params_reconstruct_targets() -> None:
    for instance in make_family("Poly1D", seed=2, num_instances=8).instances:
        params = dict(instance.params)
        degree = int(params["degree"])
        assert degree in polynomials.POLY1D_DEGREES
        assert f"x**{degree}" in instance.formula
        coefficients = [params[f"c{i}"] for i in range(degree + 1)]
        expected = np.polynomial.polynomial.polyval(instance.test.x[:, 0], coefficients)
        np.testing.assert_allclose(instance.test.y, expected, rtol=1e-5, atol=1e-5)


def test_poly20d_monomials_are_valid_and_distinct() -> None:
    for instance in make_family("Poly20D", seed=2, num_instances=8).instances:
        terms: dict[str, dict[str, float]] = {}
        for key, value in instance.params:
            term, field = key.split(".")
            terms.setdefault(term, {})[field] = value
        assert len(terms) == polynomials.POLY20D_TERMS
        monomials = [
            tuple(sorted((k, v) for k, v in t.items() if k != "coef")) for t in terms.values()
        ]
        assert len(set(monomials)) == len(monomials)
        for monomial in monomials:
            exponents = [e for _, e in monomial]
            assert 1 <= len(monomial) <= 3 and set(exponents) <= {1.0, 2.0} and sum(exponents) <= 3
        x = instance.validation.x.astype(np.float64)
        expected = sum(
            t["coef"]
            * np.prod([x[:, int(k[1:])] ** e for k, e in t.items() if k != "coef"], axis=0)
            for t in terms.values()
        )
        np.testing.assert_allclose(instance.validation.y, expected, rtol=1e-5, atol=1e-6)


def test_format_sum_uses_three_significant_digits_and_signs() -> None:
    text = base.format_sum([(-1.23456, "x**2"), (0.5, "x"), (-2.0, "")])
    assert text == "-1.23*x**2 + 0.5*x - 2"


@pytest.mark.parametrize("name", ["Harmonics", "Poly1D", "Poly20D"])
def test_unit_halves_trains_on_the_lower_half_and_tests_on_the_upper(name: str) -> None:
    default = make_family(name, seed=2, sizes=SMALL)
    halves = make_family(name, seed=2, sizes=SMALL, region=UNIT_HALVES)
    for plain, instance in zip(default.instances, halves.instances, strict=True):
        assert instance.formula == plain.formula  # same targets, other inputs
        for split in (instance.train, instance.validation):
            assert split.x.min() >= 0.0 and split.x.max() <= 0.5
        assert instance.test.x.min() > 0.5 and instance.test.x.max() <= 1.0


def test_unit_halves_keeps_feynmans_own_ranges_and_unknown_regions_are_refused() -> None:
    default = make_family("Feynman", seed=2, sizes=SMALL)
    halves = make_family("Feynman", seed=2, sizes=SMALL, region=UNIT_HALVES)
    for plain, instance in zip(default.instances, halves.instances, strict=True):
        np.testing.assert_array_equal(instance.test.x, plain.test.x)
    for name in ("Harmonics", "Feynman"):
        with pytest.raises(ValueError, match="unknown region 'nowhere'"):
            make_family(name, sizes=SMALL, region="nowhere")
