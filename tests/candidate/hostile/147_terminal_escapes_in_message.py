# expect: runtime_error
# class: forging
# threat: terminal escapes, NULs and Rich markup in a message shown in terminals and pages
import jax.numpy as jnp

raise ValueError("\x1b[2J\x1b]0;owned\x07\x00 [/red] [link=http://x]click[/link]")


def activation_function(x):
    return x
