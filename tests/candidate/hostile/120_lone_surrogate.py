# expect: invalid_action
# class: odd source
# threat: a str with a lone surrogate cannot be encoded
# build: body + "# \ud800\n"
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
