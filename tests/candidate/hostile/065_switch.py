# expect: forbidden_primitive
# class: host callbacks
# threat: lax.switch on a value computed from x
import jax
import jax.numpy as jnp
import jax.lax as lax


def activation_function(x):
    index = lax.convert_element_type(x[0] > 0, jnp.int32)
    return lax.switch(index, [lambda v: -v, lambda v: v], x)
