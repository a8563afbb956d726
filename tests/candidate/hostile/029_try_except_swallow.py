# expect: policy_violation
# class: forging
# threat: catch the worker's own exceptions with try/except
import jax
import jax.numpy as jnp


def activation_function(x):
    try:
        return x
    except BaseException:
        return x
