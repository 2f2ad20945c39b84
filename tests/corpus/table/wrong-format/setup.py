# A plan JSON in place of a table.
import json

from corpus import *

TABLE = "profiles/tiny-shapes-cnn/performance_table.json"
t = write_table("tiny_cnn", TABLE)
t["format"] = "sparseloom-plan"
open(TABLE, "w").write(json.dumps(t))
