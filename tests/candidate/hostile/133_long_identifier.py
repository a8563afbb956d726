# expect: ok
# class: odd source
# threat: a 3,000-character argument name
# build: body.replace("(x)", "(" + "v" * 3_000 + ")").replace("(x,", "(" + "v" * 3_000 + ",")
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
