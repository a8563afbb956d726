# expect: policy_violation
# class: forging
# threat: a match class pattern reads gi_frame by keyword, past the attribute-name check
import jax
import jax.numpy as jnp

walker = (v for v in [0])
match walker:
    case list(gi_frame=frame):
        pass


def activation_function(x):
    return x
