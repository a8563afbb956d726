# expect: program_too_large
# class: memory
# threat: 5,000 traced operations from a short loop
import jax
import jax.numpy as jnp


def activation_function(x):
    for _ in range(5000):
        x = x * 1.0001
    return x
