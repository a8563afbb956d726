# expect: policy_violation
# class: host access
# threat: write a file with ndarray.tofile
import jax
import jax.numpy as jnp

jnp.zeros(3).tofile("@@MARKER@@")


def activation_function(x):
    return jnp.maximum(x, 0.0)
