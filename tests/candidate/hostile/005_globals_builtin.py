# expect: runtime_error
# class: forging
# threat: rewrite module globals through globals() (not among the safe builtins)
import jax
import jax.numpy as jnp

globals()["jnp"] = None


def activation_function(x):
    return x
