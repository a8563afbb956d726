# expect: policy_violation
# class: host access
# threat: jax internals through jax._src
import jax._src.config
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
