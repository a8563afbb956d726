# expect: program_too_large
# class: memory
# threat: one concatenate with 2,000 operands
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.concatenate([x[:1]] * 2_000)[: x.shape[0]] + x
