# expect: ok
# class: host callbacks
# threat: jnp.vectorize calls Python per element only while tracing
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.vectorize(lambda v: jnp.maximum(v, 0.0))(x)
