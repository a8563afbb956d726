# expect: policy_violation
# class: forging
# threat: read constants and names of code objects through gi_code.co_consts
import jax
import jax.numpy as jnp

walker = (v for v in [0])
SECRETS = walker.gi_code.co_consts


def activation_function(x):
    return x * len(SECRETS)
