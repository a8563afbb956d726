# expect: runtime_error
# class: forging
# threat: ask lax.fft for a length that does not fit its operand, hoping for a forged fft_lengths
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.fft.irfft(jax.lax.fft(x, jax.lax.FftType.RFFT, (8,)), n=x.shape[0])
