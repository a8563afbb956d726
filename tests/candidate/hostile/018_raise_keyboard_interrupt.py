# expect: runtime_error
# class: forging
# threat: raise KeyboardInterrupt at import to look like a user abort
import jax
import jax.numpy as jnp

raise KeyboardInterrupt


def activation_function(x):
    return x
