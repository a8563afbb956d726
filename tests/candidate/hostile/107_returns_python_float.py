# expect: bad_output
# class: numerical
# threat: returns a Python constant
import jax
import jax.numpy as jnp


def activation_function(x):
    return 1.0
