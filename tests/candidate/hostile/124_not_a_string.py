# expect: invalid_action
# class: odd source
# threat: an int instead of source
# build: 42
