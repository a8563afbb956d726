# expect: missing_function
# class: odd source
# threat: only comments, no function
# def activation_function(x):
#     return x
