# expect: syntax_error
# class: odd source
# threat: parentheses nested 3,000 deep crash naive parsers
# build: body.replace("EXPR", "(" * 3_000 + "x" + ")" * 3_000)
import jax
import jax.numpy as jnp


def activation_function(x):
    return EXPR
