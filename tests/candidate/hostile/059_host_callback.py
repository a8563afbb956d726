# expect: policy_violation
# class: host callbacks
# threat: jax.experimental.host_callback.id_tap
import jax.experimental.host_callback as hcb
import jax.numpy as jnp


def activation_function(x):
    return hcb.id_tap(lambda v, t: None, x)
