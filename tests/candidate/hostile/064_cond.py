# expect: forbidden_primitive
# class: host callbacks
# threat: lax.cond, data-dependent control flow
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    return lax.cond(x[0] > 0, lambda v: v, lambda v: -v, x)
