# expect: policy_violation
# class: host access
# threat: from jax import _src
from jax import _src
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
