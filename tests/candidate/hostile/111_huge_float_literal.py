# expect: nonfinite_output
# class: numerical
# threat: 1e999 is inf at parse time
import jax
import jax.numpy as jnp


def activation_function(x):
    return x * 1e999
