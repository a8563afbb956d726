# expect: memory_limit
# class: memory
# threat: an 80 GB Python list
import jax
import jax.numpy as jnp

A = [0.0] * 10**10


def activation_function(x):
    return jnp.maximum(x, 0.0)
