# expect: policy_violation
# class: forging
# threat: reach the real builtins through the __builtins__ name
import jax
import jax.numpy as jnp

__builtins__["open"]("@@MARKER@@", "w").write("pwned")


def activation_function(x):
    return x
