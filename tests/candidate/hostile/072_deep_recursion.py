# expect: runtime_error
# class: runaway compute
# threat: unbounded recursion while tracing
import jax
import jax.numpy as jnp


def deeper(x, n):
    return deeper(x + 1.0, n + 1)


def activation_function(x):
    return deeper(x, 0)
