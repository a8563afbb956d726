# expect: syntax_error
# class: odd source
# threat: lambdas nested 300 deep
# build: body.replace("EXPR", "(lambda: " * 300 + "x" + ")()" * 300)
import jax
import jax.numpy as jnp


def activation_function(x):
    return EXPR
