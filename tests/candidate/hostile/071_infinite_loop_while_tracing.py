# expect: timeout
# class: runaway compute
# threat: while True inside the function
import jax
import jax.numpy as jnp


def activation_function(x):
    while True:
        x = x
