# 50 MB of nested arrays as zoo.json: refused by its size before it is read (2.1 GB and seconds
# before).
from corpus import *

with zoo_copy("tiny_cnn") as m:
    pass
open("zoo/zoo.json", "w").write("[" * (50 << 20))
