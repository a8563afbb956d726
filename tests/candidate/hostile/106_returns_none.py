# expect: bad_output
# class: numerical
# threat: returns nothing
import jax
import jax.numpy as jnp


def activation_function(x):
    x + 1.0
