# expect: policy_violation
# class: host access
# threat: a relative import of the worker's package
from . import worker
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
