# An integer past int64.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "dense", 1)["flops"] = 2**70
