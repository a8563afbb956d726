# expect: empty_source
# class: odd source
# threat: only whitespace
# build: " \n\t\n  "
