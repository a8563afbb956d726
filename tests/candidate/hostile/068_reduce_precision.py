# expect: forbidden_primitive
# class: host callbacks
# threat: lax.reduce_precision
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    return lax.reduce_precision(x, exponent_bits=5, mantissa_bits=2)
