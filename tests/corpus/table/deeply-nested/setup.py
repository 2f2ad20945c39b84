# A table whose latencies are nested arrays: refused by its depth before it is parsed.
from corpus import *

TABLE = "profiles/tiny-shapes-cnn/performance_table.json"
write_table("tiny_cnn", TABLE)
text = open(TABLE).read()
open(TABLE, "w").write(text.replace('"latency_ms": [', '"latency_ms": ' + "[" * 40, 1))
