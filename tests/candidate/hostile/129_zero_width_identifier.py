# expect: syntax_error
# class: odd source
# threat: a zero-width space inside the function name
# build: body.replace("activation_function", "activation\u200b_function")
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
