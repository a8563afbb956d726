# expect: invalid_action
# class: odd source
# threat: bytes that are not UTF-8
# build: b"\xff\xfe\xfa" + body.encode()
import jax
import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0)
