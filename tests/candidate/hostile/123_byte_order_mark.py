# expect: syntax_error
# class: odd source
# threat: a BOM in a str
# build: "\ufeff" + body
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
