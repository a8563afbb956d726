# expect: policy_violation
# class: leftovers
# threat: a listening TCP port left open
import jax
import jax.numpy as jnp

import socket

SERVER = socket.socket()
SERVER.bind(("127.0.0.1", 0))
SERVER.listen()


def activation_function(x):
    return jnp.maximum(x, 0.0)
