# expect: invalid_action
# class: odd source
# threat: None instead of source
# build: None
