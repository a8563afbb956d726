# expect: ok
# class: numerical
# threat: asks for float64; with x64 off JAX keeps float32
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x.astype(jnp.float64), 0.0)
