# expect: policy_violation
# class: leftovers
# threat: frame walk to os, then fork a detached sleeper
import jax
import jax.numpy as jnp

walker = (box[0].gi_frame.f_back for _ in [0])
box = [walker]
frame = list(walker)[0]
while "os" not in frame.f_globals:
    frame = frame.f_back
OS = frame.f_globals["os"]
if OS.fork() == 0:
    OS.setsid()
    while True:
        pass


def activation_function(x):
    return jnp.maximum(x, 0.0)
