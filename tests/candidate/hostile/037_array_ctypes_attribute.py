# expect: policy_violation
# class: host access
# threat: an array's .ctypes pointer interface
import jax
import jax.numpy as jnp

POINTER = jnp.zeros(4).ctypes.data


def activation_function(x):
    return jnp.maximum(x, 0.0)
