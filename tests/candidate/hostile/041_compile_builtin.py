# expect: runtime_error
# class: host access
# threat: compile() a code object to run later
import jax
import jax.numpy as jnp

CODE = compile("import os", "<x>", "exec")


def activation_function(x):
    return jnp.maximum(x, 0.0)
