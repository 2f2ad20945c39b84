# A valid manifest carrying a 40 MB unknown field: refused by its size before it is read (it took
# 1.8 GB to accept it before).
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["notes"] = "x" * (40 << 20)
