# expect: invalid_program
# class: forging
# threat: an allow-listed primitive without a derivative rule makes the trusted probe raise
import jax.numpy as jnp


def activation_function(x):
    return jnp.nextafter(x, x + 1.0)
