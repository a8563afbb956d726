# expect: program_too_large
# class: memory
# threat: a 10**10-element intermediate in the trace
import jax
import jax.numpy as jnp


def activation_function(x):
    return x + jnp.sum(jnp.ones((10**5, 10**5)) * x[0])
