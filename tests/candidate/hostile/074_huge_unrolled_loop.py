# expect: timeout
# class: runaway compute
# threat: a billion-step Python loop unrolled into the trace
import jax
import jax.numpy as jnp


def activation_function(x):
    for _ in range(10**9):
        x = x + 1.0
    return x
