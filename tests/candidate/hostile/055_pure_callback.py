# expect: policy_violation
# class: host callbacks
# threat: jax.pure_callback runs Python at training time
import jax
import jax.numpy as jnp


def activation_function(x):
    return jax.pure_callback(lambda v: v, jax.ShapeDtypeStruct(x.shape, x.dtype), x)
