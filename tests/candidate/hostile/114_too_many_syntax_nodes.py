# expect: source_too_large
# class: odd source
# threat: a long sum: many syntax nodes in few characters
# build: body.replace("EXPR", "+".join(["x"] * 2_500))
import jax
import jax.numpy as jnp


def activation_function(x):
    return EXPR
