# expect: source_too_large
# class: odd source
# threat: three megabytes of text
# build: body + "#" * 3_000_000
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
