# expect: policy_violation
# class: host access
# threat: read a host file with jnp.load
import jax
import jax.numpy as jnp

SECRET = jnp.load("/etc/passwd")


def activation_function(x):
    return jnp.maximum(x, 0.0)
