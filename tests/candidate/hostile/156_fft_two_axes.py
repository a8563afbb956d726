# expect: invalid_program
# class: forging
# threat: a 2-D fft whose fft_lengths name two axes; only last-axis transforms pass the parameter schema
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.real(jnp.fft.fft2(jnp.outer(x, x)))[0]
