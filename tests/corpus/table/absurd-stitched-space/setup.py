# A corrupted stage count: V^K x P^K far past what any table holds.
import json

from corpus import *

TABLE = "profiles/tiny-shapes-cnn/performance_table.json"
t = write_table("tiny_cnn", TABLE)
t["num_stages"] = 40
open(TABLE, "w").write(json.dumps(t))
