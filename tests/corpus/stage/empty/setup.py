# An empty stage file.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s = stage(m, "dense", 1)
    replace_file("zoo/" + s["file"], b"")
    s["bytes"] = 0
