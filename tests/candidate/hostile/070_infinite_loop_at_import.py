# expect: timeout
# class: runaway compute
# threat: while True at module level
import jax
import jax.numpy as jnp

while True:
    pass


def activation_function(x):
    return jnp.maximum(x, 0.0)
