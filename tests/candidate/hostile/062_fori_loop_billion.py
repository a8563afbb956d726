# expect: forbidden_primitive
# class: host callbacks
# threat: lax.fori_loop over a billion steps
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    return lax.fori_loop(0, 10**9, lambda i, v: v + 1.0, x)
