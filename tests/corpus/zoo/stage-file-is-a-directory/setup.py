# A directory where a stage file should be (reported as "no such file" before).
import os

from corpus import *

with zoo_copy("tiny_cnn") as m:
    path = "zoo/" + stage(m, "bf16", 2)["file"]
os.unlink(path)
os.makedirs(path)
