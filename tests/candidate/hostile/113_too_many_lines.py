# expect: source_too_large
# class: odd source
# threat: thousands of empty lines
# build: "\n" * 2_000 + body
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
