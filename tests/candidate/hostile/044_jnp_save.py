# expect: policy_violation
# class: host access
# threat: write a file with jnp.save
import jax
import jax.numpy as jnp


def activation_function(x):
    jnp.save("@@MARKER@@", jnp.zeros(3))
    return x
