# expect: forbidden_primitive
# class: host callbacks
# threat: lax.optimization_barrier
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    return lax.optimization_barrier(x)
