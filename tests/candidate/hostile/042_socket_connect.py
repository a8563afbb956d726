# expect: policy_violation
# class: host access
# threat: connect to a TCP listener on the host
import jax
import jax.numpy as jnp

import socket

socket.create_connection(("127.0.0.1", @@PORT@@)).sendall(b"pwned")


def activation_function(x):
    return jnp.maximum(x, 0.0)
