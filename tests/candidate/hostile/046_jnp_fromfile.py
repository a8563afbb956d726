# expect: policy_violation
# class: host access
# threat: read a host file with jnp.fromfile
import jax
import jax.numpy as jnp

SECRET = jnp.fromfile("/etc/passwd")


def activation_function(x):
    return jnp.maximum(x, 0.0)
