# expect: policy_violation
# class: forging
# threat: carry the jax package in a list to reach jax.experimental
import jax
import jax.numpy as jnp

TOOLS = [jax][0]


def activation_function(x):
    return TOOLS.experimental.io_callback(lambda v: v, x, x)
