# A typo in a stage's field: flop for flops.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s = stage(m, "dense", 2)
    s["flop"] = s.pop("flops")
