# expect: memory_limit
# class: memory
# threat: jnp.ones((10**9,)) materialised at import
import jax
import jax.numpy as jnp

A = jnp.ones((10**9,))


def activation_function(x):
    return jnp.maximum(x, 0.0)
