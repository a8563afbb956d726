# expect: program_too_large
# class: memory
# threat: a million-element constant baked into the program
import jax
import jax.numpy as jnp

TABLE = jnp.linspace(0.0, 1.0, 10**6)


def activation_function(x):
    return x + jnp.sum(TABLE) * 0.0
