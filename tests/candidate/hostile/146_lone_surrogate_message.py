# expect: runtime_error
# class: forging
# threat: a message no UTF-8 store can hold, to crash the search store or the verifier
import jax.numpy as jnp

raise ValueError("\ud800 poisoned")


def activation_function(x):
    return x
