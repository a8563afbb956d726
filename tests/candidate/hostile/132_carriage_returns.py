# expect: ok
# class: odd source
# threat: old Mac line endings only
# build: body.replace("\n", "\r")
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
