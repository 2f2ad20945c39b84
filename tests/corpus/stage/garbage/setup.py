# A stage file that is not TorchScript at all (a text file saved under the stage's name).
# The manifest's size and hash match it: what is checked is the engine's reading of the file.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s = stage(m, "dense", 1)
    replace_stage(s, b"not a TorchScript module\n")
