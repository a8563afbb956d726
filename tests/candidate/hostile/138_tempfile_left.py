# expect: policy_violation
# class: leftovers
# threat: a temp file that is never removed
import jax
import jax.numpy as jnp

import tempfile

HANDLE = tempfile.NamedTemporaryFile(delete=False)


def activation_function(x):
    return jnp.maximum(x, 0.0)
