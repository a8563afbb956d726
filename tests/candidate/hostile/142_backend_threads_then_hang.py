# expect: timeout
# class: leftovers
# threat: start JAX's CPU backend threads, then spin
import jax
import jax.numpy as jnp

WARM = float(jnp.sum(jnp.sin(jnp.ones(64))))
while True:
    pass


def activation_function(x):
    return jnp.maximum(x, 0.0)
