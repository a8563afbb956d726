# expect: cost_over_budget
# class: memory
# threat: a matrix product of outer products: cheap to write, costly to run
import jax
import jax.numpy as jnp


def activation_function(x):
    m = jnp.outer(x, x)
    return (m @ m)[0]
