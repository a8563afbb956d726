# expect: runtime_error
# class: forging
# threat: raise SystemExit while tracing to end the worker early
import jax
import jax.numpy as jnp


def activation_function(x):
    raise SystemExit(0)
