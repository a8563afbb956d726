# expect: policy_violation
# class: forging
# threat: import jax under another name to use jax.debug.callback past the jax.<name> check
import jax as j
import jax.numpy as jnp


def activation_function(x):
    j.debug.callback(lambda v: None, x)
    return x
