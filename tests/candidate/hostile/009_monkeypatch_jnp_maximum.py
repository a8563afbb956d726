# expect: ok
# class: forging
# threat: jnp.maximum = jnp.minimum at module level must not change later candidates or ReLU
import jax
import jax.numpy as jnp

jnp.maximum = jnp.minimum


def activation_function(x):
    return jnp.maximum(x, 0.0)
