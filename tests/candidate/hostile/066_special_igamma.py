# expect: forbidden_primitive
# class: host callbacks
# threat: a special function outside the primitive table
import jax
import jax.numpy as jnp

import jax.scipy.special


def activation_function(x):
    return jax.scipy.special.gammainc(2.0, jnp.abs(x))
