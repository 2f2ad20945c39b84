# Stage 2 of the same variant saved as stage 1: valid TorchScript, the wrong signature.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s1, s2 = stage(m, "dense", 1), stage(m, "dense", 2)
    replace_file("zoo/" + s1["file"], open("zoo/" + s2["file"], "rb").read())
    s1["bytes"] = s2["bytes"]
