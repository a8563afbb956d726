# expect: timeout
# class: runaway compute
# threat: eager ops on ever-new shapes: one XLA compile each
import jax
import jax.numpy as jnp

for n in range(1, 10**6):
    jnp.sin(jnp.ones(n)).sum()


def activation_function(x):
    return jnp.maximum(x, 0.0)
