# expect: bad_output
# class: numerical
# threat: returns two arrays
import jax
import jax.numpy as jnp


def activation_function(x):
    return x, x
