# expect: nonfinite_gradient
# class: numerical
# threat: finite output, NaN gradient from the untaken branch
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.where(x > 0, jnp.sqrt(x), 0.0)
