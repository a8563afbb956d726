"""`python -m actgym.candidate.confinement`: confine this process and print the report."""

import json

from actgym.candidate.confinement import apply

print(json.dumps(apply()))
