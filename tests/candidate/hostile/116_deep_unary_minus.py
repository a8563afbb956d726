# expect: syntax_error
# class: odd source
# threat: a unary minus chain 8,000 deep
# build: body.replace("EXPR", "-" * 8_000 + "x")
import jax
import jax.numpy as jnp


def activation_function(x):
    return EXPR
