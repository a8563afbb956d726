# expect: invalid_program
# class: forging
# threat: bind add with an extra parameter the trusted side never expects
import jax
import jax.numpy as jnp


def activation_function(x):
    return jax.lax.add_p.bind(x, x, callback=1)
