# expect: ok
# class: numerical
# threat: INT_MIN // -1 and x % 0 in int32 must not crash the trainer
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    n = lax.convert_element_type(x, jnp.int32)
    low = n * 0 - 2147483647 - 1
    q = lax.div(low, n * 0 - 1) + lax.rem(n, n * 0) + lax.div(n, n * 0)
    return jnp.maximum(x, 0.0) + lax.convert_element_type(q, jnp.float32) * 0.0
