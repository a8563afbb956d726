# expect: syntax_error
# class: odd source
# threat: tabs and spaces mixed in one block
import jax
import jax.numpy as jnp


def activation_function(x):
	if True:
        return x
