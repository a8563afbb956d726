# expect: bad_output
# class: numerical
# threat: a complex intermediate, real output
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.sqrt(x.astype(jnp.complex64)).real
