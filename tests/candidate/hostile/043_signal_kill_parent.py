# expect: policy_violation
# class: host access
# threat: kill the parent (the fork server or trainer)
import jax
import jax.numpy as jnp

import os
import signal

os.kill(os.getppid(), signal.SIGKILL)


def activation_function(x):
    return jnp.maximum(x, 0.0)
