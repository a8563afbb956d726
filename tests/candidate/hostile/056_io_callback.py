# expect: policy_violation
# class: host callbacks
# threat: jax.experimental.io_callback
import jax.numpy as jnp
from jax.experimental import io_callback


def activation_function(x):
    return io_callback(lambda v: v, x, x)
