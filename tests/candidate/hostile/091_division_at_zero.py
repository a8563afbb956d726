# expect: nonfinite_output
# class: numerical
# threat: 1/x is inf at exactly 0
import jax
import jax.numpy as jnp


def activation_function(x):
    return 1.0 / x
