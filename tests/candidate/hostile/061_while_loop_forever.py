# expect: forbidden_primitive
# class: host callbacks
# threat: lax.while_loop whose condition is always true
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    return lax.while_loop(lambda v: True, lambda v: v + 1.0, x)
