# expect: policy_violation
# class: forging
# threat: fullwidth letters that NFKC-normalise to __class__
import jax
import jax.numpy as jnp


def activation_function(x):
    kind = x.__ｃｌａｓｓ__
    return x
