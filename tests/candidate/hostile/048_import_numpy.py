# expect: policy_violation
# class: host access
# threat: numpy itself (DataSource, f2py, ctypeslib...)
import jax
import jax.numpy as jnp

import numpy

numpy.DataSource().open("/etc/passwd")


def activation_function(x):
    return jnp.maximum(x, 0.0)
