# expect: ok
# class: leftovers
# threat: start JAX's CPU backend threads and answer normally
import jax
import jax.numpy as jnp

WARM = float(jnp.sum(jnp.sin(jnp.ones(64))))


def activation_function(x):
    return jnp.maximum(x, 0.0)
