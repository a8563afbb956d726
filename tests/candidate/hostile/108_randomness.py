# expect: policy_violation
# class: numerical
# threat: non-determinism through jax.random
import jax.numpy as jnp
import jax.random


def activation_function(x):
    return x + jax.random.normal(jax.random.PRNGKey(0), x.shape)
