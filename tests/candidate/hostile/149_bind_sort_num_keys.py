# expect: invalid_program
# class: forging
# threat: bind sort with more keys than operands and a non-bool is_stable
import jax
import jax.numpy as jnp


def activation_function(x):
    return jax.lax.sort_p.bind(x, dimension=0, is_stable=2, num_keys=2)[0]
