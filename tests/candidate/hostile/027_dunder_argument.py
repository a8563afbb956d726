# expect: policy_violation
# class: forging
# threat: a lambda argument named with a dunder
import jax
import jax.numpy as jnp


def activation_function(x):
    return (lambda __builtins__: x)(0)
