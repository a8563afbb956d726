# expect: nonfinite_output
# class: numerical
# threat: overflow to inf for large inputs only
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.exp(2.0 * x)
