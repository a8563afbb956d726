# expect: nonfinite_output
# class: numerical
# threat: NaN at exactly x = 0, finite elsewhere
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.where(x == 0.0, jnp.nan, x)
