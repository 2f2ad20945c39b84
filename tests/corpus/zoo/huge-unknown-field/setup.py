# A valid manifest carrying a 40 MB unknown field: refused by its size before it is read (it took
# 1.8 GB to accept it before). Padded to exactly 42,000,000 bytes, whatever the test zoo's own
# manifest holds (its measured accuracies change its length from one build to the next).
import json

from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["notes"] = ""
    m["notes"] = "x" * (42_000_000 - len(json.dumps(m, indent=1) + "\n"))
