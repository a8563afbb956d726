# expect: policy_violation
# class: host access
# threat: a jax.lax private attribute
import jax
import jax.numpy as jnp
import jax.lax as lax

INTERNALS = lax._src


def activation_function(x):
    return jnp.maximum(x, 0.0)
