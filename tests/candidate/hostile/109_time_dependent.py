# expect: policy_violation
# class: numerical
# threat: non-determinism through the clock
import jax
import jax.numpy as jnp

import time

SEED = time.time()


def activation_function(x):
    return jnp.maximum(x, 0.0)
