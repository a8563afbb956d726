# expect: nonfinite_output
# class: numerical
# threat: NaN for negative inputs only
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.log(x)
