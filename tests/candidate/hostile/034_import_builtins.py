# expect: policy_violation
# class: host access
# threat: the builtins module's open
import jax
import jax.numpy as jnp

import builtins

builtins.open("@@MARKER@@", "w").write("pwned")


def activation_function(x):
    return jnp.maximum(x, 0.0)
