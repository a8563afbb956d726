# expect: source_too_large
# class: odd source
# threat: thousands of lines separated by bare carriage returns, which "\n" counting misses
# build: "\r" * 2_000 + body.replace("\n", "\r")
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
