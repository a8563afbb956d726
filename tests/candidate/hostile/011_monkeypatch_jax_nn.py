# expect: ok
# class: forging
# threat: replace jax.nn.relu and jnp.where for everyone: confined to this candidate's child
import jax
import jax.numpy as jnp

jax.nn.relu = jax.nn.gelu
jax.numpy.where = None


def activation_function(x):
    return jnp.maximum(x, 0.0)
