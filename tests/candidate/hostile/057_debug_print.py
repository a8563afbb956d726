# expect: policy_violation
# class: host callbacks
# threat: jax.debug.print at training time
import jax
import jax.numpy as jnp


def activation_function(x):
    jax.debug.print("{}", x)
    return x
