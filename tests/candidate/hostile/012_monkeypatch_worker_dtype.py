# expect: invalid_program
# class: forging
# threat: patch jnp.float32 so the worker traces at float16 and writes a program whose types lie
import jax
import jax.numpy as jnp

jnp.float32 = jnp.float16


def activation_function(x):
    return jnp.maximum(x, 0.0)
