# expect: policy_violation
# class: forging
# threat: str.format fields reach attributes the policy refuses by name ({0.__class__})
import jax
import jax.numpy as jnp


def activation_function(x):
    leak = "{0.__class__.__init__.__globals__}".format(x)
    return x
