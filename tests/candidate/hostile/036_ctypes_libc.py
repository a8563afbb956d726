# expect: policy_violation
# class: host access
# threat: call libc's system() through ctypes
import jax
import jax.numpy as jnp

import ctypes

ctypes.CDLL(None).system(b"touch @@MARKER@@")


def activation_function(x):
    return jnp.maximum(x, 0.0)
