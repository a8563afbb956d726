# expect: policy_violation
# class: leftovers
# threat: a multiprocessing pool left running
import jax
import jax.numpy as jnp

import multiprocessing

POOL = multiprocessing.Pool(2)


def activation_function(x):
    return jnp.maximum(x, 0.0)
