# expect: program_too_large
# class: memory
# threat: a five-way outer product of x
import jax
import jax.numpy as jnp


def activation_function(x):
    n = x.shape[0]
    t = x[:, None, None, None, None] * x[None, :, None, None, None]
    t = t * x[None, None, :, None, None] * x[None, None, None, :, None]
    t = t * x[None, None, None, None, :]
    return jnp.sum(t.reshape(n, -1), axis=1)
