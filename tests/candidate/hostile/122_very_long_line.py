# expect: ok
# class: odd source
# threat: one 15,000-character line
# build: body + "# " + "a" * 15_000 + "\n"
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
