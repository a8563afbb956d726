# expect: invalid_program
# class: forging
# threat: bind round with rounding_method=7 so the program loads and then fails inside compilation
import jax
import jax.numpy as jnp


def activation_function(x):
    return jax.lax.round_p.bind(x, rounding_method=7)
