# expect: bad_output
# class: numerical
# threat: returns twice the width
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.concatenate([x, x])
