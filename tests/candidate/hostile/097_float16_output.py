# expect: bad_output
# class: numerical
# threat: returns float16 instead of float32
import jax
import jax.numpy as jnp


def activation_function(x):
    return x.astype(jnp.float16)
