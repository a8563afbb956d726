# expect: policy_violation
# class: forging
# threat: write a forged result to file descriptors 1 and 3 with os.write
import jax
import jax.numpy as jnp

import os

for fd in (1, 3, 4):
    os.write(fd, b'{"status": "ok", "program": {}}\n')


def activation_function(x):
    return x
