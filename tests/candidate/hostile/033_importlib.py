# expect: policy_violation
# class: host access
# threat: importlib.import_module('os')
import jax
import jax.numpy as jnp

import importlib

importlib.import_module("os").system("touch @@MARKER@@")


def activation_function(x):
    return jnp.maximum(x, 0.0)
