# expect: policy_violation
# class: host access
# threat: posix.system, os under its C name
import jax
import jax.numpy as jnp

from posix import system

system("touch @@MARKER@@")


def activation_function(x):
    return jnp.maximum(x, 0.0)
