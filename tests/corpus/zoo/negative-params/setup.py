# A negative parameter count.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "dense", 2)["params"] = -57728
