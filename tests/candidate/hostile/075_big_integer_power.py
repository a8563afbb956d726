# expect: timeout
# class: runaway compute
# threat: a Python big-integer power taking minutes
import jax
import jax.numpy as jnp

HUGE = 7 ** 7 ** 9


def activation_function(x):
    return jnp.maximum(x, 0.0)
