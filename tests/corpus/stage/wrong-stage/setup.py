# Stage 2 of the same variant saved as stage 1: valid TorchScript, the wrong signature.
# The manifest's size and hash match it: what is checked is the engine's reading of the file.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s1, s2 = stage(m, "dense", 1), stage(m, "dense", 2)
    replace_stage(s1, open("zoo/" + s2["file"], "rb").read())
