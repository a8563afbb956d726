# expect: bad_output
# class: numerical
# threat: returns a boolean mask
import jax
import jax.numpy as jnp


def activation_function(x):
    return x > 0
