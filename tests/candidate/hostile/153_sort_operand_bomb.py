# expect: cost_over_budget
# class: runaway compute
# threat: one sort of 1023 operands: charged for one, it compiled for a quarter of an hour
import jax
import jax.numpy as jnp


def activation_function(x):
    return jax.lax.sort([x] * 1023, num_keys=1)[0]
