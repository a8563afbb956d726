# expect: runtime_error
# class: host access
# threat: drop into a debugger on the worker's stdin
import jax
import jax.numpy as jnp

breakpoint()


def activation_function(x):
    return jnp.maximum(x, 0.0)
