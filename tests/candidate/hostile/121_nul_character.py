# expect: syntax_error
# class: odd source
# threat: a NUL character in the middle of the source
# build: body.replace("maximum", "max\x00imum")
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
