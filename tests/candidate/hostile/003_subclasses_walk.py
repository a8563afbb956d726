# expect: policy_violation
# class: forging
# threat: the classic ().__class__.__base__.__subclasses__() walk to os._wrap_close
import jax
import jax.numpy as jnp

for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == "_wrap_close":
        cls.__init__.__globals__["system"]("touch @@MARKER@@")


def activation_function(x):
    return x
