# expect: bad_output
# class: numerical
# threat: returns complex64
import jax
import jax.numpy as jnp


def activation_function(x):
    return x + 1j
