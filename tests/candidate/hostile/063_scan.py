# expect: forbidden_primitive
# class: host callbacks
# threat: lax.scan, a loop primitive
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    carry, _ = lax.scan(lambda c, v: (c + v, v), x, jnp.ones((3, x.shape[0])))
    return carry
