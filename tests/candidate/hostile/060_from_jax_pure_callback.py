# expect: policy_violation
# class: host callbacks
# threat: from jax import pure_callback
import jax.numpy as jnp
from jax import pure_callback


def activation_function(x):
    return pure_callback(lambda v: v, x, x)
