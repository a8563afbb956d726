# expect: runtime_error
# class: host access
# threat: open() a file for writing (not among the safe builtins)
import jax
import jax.numpy as jnp

open("@@MARKER@@", "w").write("pwned")


def activation_function(x):
    return jnp.maximum(x, 0.0)
