# expect: runtime_error
# class: forging
# threat: raise an allowed exception class with a huge message while tracing
import jax
import jax.numpy as jnp


def activation_function(x):
    raise ValueError("status: ok " * 100_000)
