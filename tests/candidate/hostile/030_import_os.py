# expect: policy_violation
# class: host access
# threat: run a shell command with os.system
import jax
import jax.numpy as jnp

import os

os.system("touch @@MARKER@@")


def activation_function(x):
    return jnp.maximum(x, 0.0)
