# A negative stage size.
import json

from corpus import *

TABLE = "profiles/tiny-shapes-cnn/performance_table.json"
t = write_table("tiny_cnn", TABLE)
t["stage_bytes"][0] = -1
open(TABLE, "w").write(json.dumps(t))
