# expect: memory_limit
# class: memory
# threat: a 100 GB string
import jax
import jax.numpy as jnp

A = "x" * 10**11


def activation_function(x):
    return jnp.maximum(x, 0.0)
