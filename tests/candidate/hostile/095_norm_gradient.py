# expect: nonfinite_gradient
# class: numerical
# threat: sqrt(x*x): |x| forwards, 0/0 backwards at 0
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.sqrt(x * x)
