# expect: bad_output
# class: numerical
# threat: returns int32
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.round(x).astype(jnp.int32)
