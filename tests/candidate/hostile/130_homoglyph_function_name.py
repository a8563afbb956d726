# expect: missing_function
# class: odd source
# threat: a Cyrillic 'а' in the function name
# build: body.replace("activation_function", "\u0430ctivation_function")
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
