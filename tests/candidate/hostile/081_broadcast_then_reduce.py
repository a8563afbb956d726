# expect: program_too_large
# class: memory
# threat: broadcast to a million columns then reduce
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.sum(x[:, None] * jnp.ones((1, 10**6)), axis=1)
