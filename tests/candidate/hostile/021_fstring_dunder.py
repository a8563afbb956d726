# expect: policy_violation
# class: forging
# threat: an f-string expression reading a dunder attribute
import jax
import jax.numpy as jnp


def activation_function(x):
    leak = f"{x.__class__.__mro__}"
    return x
