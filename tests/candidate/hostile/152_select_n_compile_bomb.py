# expect: program_too_large
# class: runaway compute
# threat: select_n over 1023 cases, a dozen times: cheap to trace, minutes to differentiate and compile
import jax
import jax.numpy as jnp


def activation_function(x):
    which = jnp.clip(x, 0.0, 1022.0).astype(jnp.int32)
    for _ in range(12):
        x = jax.lax.select_n(which, *([x] * 1023))
    return x
