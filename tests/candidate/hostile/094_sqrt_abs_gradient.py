# expect: nonfinite_gradient
# class: numerical
# threat: infinite derivative at 0
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.sqrt(jnp.abs(x))
