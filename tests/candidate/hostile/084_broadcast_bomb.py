# expect: program_too_large
# class: memory
# threat: jnp.broadcast_to 100,000 copies, then sum
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.broadcast_to(x, (10**5, x.shape[0])).sum(axis=0)
