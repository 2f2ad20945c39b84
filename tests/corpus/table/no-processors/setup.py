# A table with no processor.
import json

from corpus import *

TABLE = "profiles/tiny-shapes-cnn/performance_table.json"
t = write_table("tiny_cnn", TABLE)
t["processors"] = []
open(TABLE, "w").write(json.dumps(t))
