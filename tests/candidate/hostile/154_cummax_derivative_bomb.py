# expect: program_too_large
# class: runaway compute
# threat: 200 cummax fit the FLOP budget, but each becomes hundreds of operations once differentiated
import jax
import jax.numpy as jnp


def activation_function(x):
    for _ in range(200):
        x = jax.lax.cummax(x)
    return x
