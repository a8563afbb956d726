# expect: nonfinite_loss
# class: numerical
# threat: finite on the probe grid, explodes in training
import jax
import jax.numpy as jnp


def activation_function(x):
    return x * 1e18
