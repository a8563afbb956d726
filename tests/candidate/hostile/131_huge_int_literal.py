# expect: syntax_error
# class: odd source
# threat: a 5,000-digit integer literal
# build: body.replace("EXPR", "9" * 5_000)
import jax
import jax.numpy as jnp


def activation_function(x):
    return x * 0 + EXPR
