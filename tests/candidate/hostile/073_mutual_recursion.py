# expect: runtime_error
# class: runaway compute
# threat: two functions calling each other forever
import jax
import jax.numpy as jnp


def ping(x):
    return pong(x)


def pong(x):
    return ping(x)


def activation_function(x):
    return ping(x)
