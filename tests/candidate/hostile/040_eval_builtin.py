# expect: runtime_error
# class: host access
# threat: eval a string of unchecked code
import jax
import jax.numpy as jnp

eval("__import__('os').system('touch @@MARKER@@')")


def activation_function(x):
    return jnp.maximum(x, 0.0)
