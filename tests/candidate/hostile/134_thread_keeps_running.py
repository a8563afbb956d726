# expect: policy_violation
# class: leftovers
# threat: a thread that outlives the candidate
import jax
import jax.numpy as jnp

import threading

threading.Thread(target=lambda: __import__("time").sleep(3600), daemon=False).start()


def activation_function(x):
    return jnp.maximum(x, 0.0)
