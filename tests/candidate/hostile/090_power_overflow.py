# expect: nonfinite_output
# class: numerical
# threat: x**30 overflows float32 at |x| = 50
import jax
import jax.numpy as jnp


def activation_function(x):
    return x**30
