# expect: policy_violation
# class: host access
# threat: __import__('os') by name
import jax
import jax.numpy as jnp

__import__("os").system("touch @@MARKER@@")


def activation_function(x):
    return jnp.maximum(x, 0.0)
