# expect: runtime_error
# class: forging
# threat: setattr on the numpy namespace (not among the safe builtins)
import jax
import jax.numpy as jnp

setattr(jnp, "maximum", jnp.minimum)


def activation_function(x):
    return x
