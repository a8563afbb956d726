# expect: policy_violation
# class: leftovers
# threat: fork, leave the session and sleep forever
import jax
import jax.numpy as jnp

import os

if os.fork() == 0:
    os.setsid()
    while True:
        pass


def activation_function(x):
    return jnp.maximum(x, 0.0)
