# expect: policy_violation
# class: host access
# threat: spawn a shell with subprocess
import jax
import jax.numpy as jnp

import subprocess

subprocess.run(["touch", "@@MARKER@@"])


def activation_function(x):
    return jnp.maximum(x, 0.0)
