# expect: policy_violation
# class: forging
# threat: climb the call stack with sys._getframe
import jax
import jax.numpy as jnp

import sys

CALLER = sys._getframe(1)


def activation_function(x):
    return x
