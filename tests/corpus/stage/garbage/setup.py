# A stage file that is not TorchScript at all (a text file saved under the stage's name).
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s = stage(m, "dense", 1)
    replace_file("zoo/" + s["file"], b"not a TorchScript module\n")
    s["bytes"] = 25
