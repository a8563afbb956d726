# expect: invalid_program
# class: forging
# threat: bind dot_general with a precision that is no Precision, and a non-bool weak_type
import jax
import jax.numpy as jnp


def activation_function(x):
    f32 = jnp.dtype("float32")
    dims = (((0,), (0,)), ((), ()))
    norm = jax.lax.dot_general_p.bind(
        x, x, dimension_numbers=dims, precision=7, preferred_element_type=f32, out_sharding=None
    )
    y = jax.lax.convert_element_type_p.bind(x, new_dtype=f32, weak_type=3, sharding=None)
    return y * norm
