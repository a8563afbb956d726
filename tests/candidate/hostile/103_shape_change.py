# expect: bad_output
# class: numerical
# threat: returns a column instead of a vector
import jax
import jax.numpy as jnp


def activation_function(x):
    return x[:, None]
