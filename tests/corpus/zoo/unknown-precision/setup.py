# A precision this release does not know.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "bf16", 2)["precision"] = "fp16"
