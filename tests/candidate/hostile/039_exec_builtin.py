# expect: runtime_error
# class: host access
# threat: exec a string of unchecked code
import jax
import jax.numpy as jnp

exec("import os; os.system('touch @@MARKER@@')")


def activation_function(x):
    return jnp.maximum(x, 0.0)
