# expect: policy_violation
# class: host access
# threat: import * to smuggle names in
from jax.numpy import *
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
