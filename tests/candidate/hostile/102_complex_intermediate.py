# expect: nonfinite_gradient
# class: numerical
# threat: a complex intermediate (allowed since FFTs are), real output; sqrt's derivative at 0 is infinite
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.sqrt(x.astype(jnp.complex64)).real
