# expect: policy_violation
# class: forging
# threat: walk a generator's gi_frame.f_back up to the worker's globals and run os.system
import jax
import jax.numpy as jnp

box = []
walker = (box[0].gi_frame.f_back for _ in [0])
box.append(walker)
frame = list(walker)[0]
while frame is not None and "os" not in frame.f_globals:
    frame = frame.f_back
frame.f_globals["os"].system("touch @@MARKER@@")
frame.f_builtins["open"]("@@MARKER@@", "w").write("pwned")


def activation_function(x):
    return jnp.maximum(x, 0.0)
