# expect: ok
# class: forging
# threat: rename lax.max_p to 'min' so the worker writes another program: scored as that program
import jax
import jax.numpy as jnp
import jax.lax as lax

lax.max_p.name = "min"


def activation_function(x):
    return jnp.maximum(x, 0.0)
