# expect: policy_violation
# class: host callbacks
# threat: from jax.debug import callback
import jax.numpy as jnp
from jax.debug import callback


def activation_function(x):
    callback(lambda v: None, x)
    return x
