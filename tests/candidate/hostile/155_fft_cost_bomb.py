# expect: cost_over_budget
# class: runaway compute
# threat: eight FFTs of 4096 points per call (zero-padded input): 5 n log2 n each is far over the FLOP budget
import jax
import jax.numpy as jnp


def activation_function(x):
    return sum(jnp.fft.irfft(jnp.fft.rfft(x * k, n=4096), n=4096)[: x.shape[0]] for k in range(8))
