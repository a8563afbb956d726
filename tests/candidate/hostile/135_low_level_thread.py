# expect: policy_violation
# class: leftovers
# threat: _thread.start_new_thread
import jax
import jax.numpy as jnp

import _thread


def activation_function(x):
    return jnp.maximum(x, 0.0)
