# expect: runtime_error
# class: forging
# threat: read a module's namespace through vars() (not among the safe builtins)
import jax
import jax.numpy as jnp

NAMESPACE = vars(jnp)


def activation_function(x):
    return x
