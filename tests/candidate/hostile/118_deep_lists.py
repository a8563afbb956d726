# expect: syntax_error
# class: odd source
# threat: list displays nested 3,000 deep
# build: body.replace("EXPR", "[" * 3_000 + "]" * 3_000)
import jax
import jax.numpy as jnp

A = EXPR


def activation_function(x):
    return jnp.maximum(x, 0.0)
