# A stage file cut short; the manifest's size updated to match (a copy that went wrong with it).
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s = stage(m, "dense", 1)
    data = open("zoo/" + s["file"], "rb").read()
    replace_file("zoo/" + s["file"], data[: len(data) // 2])
    s["bytes"] = len(data) // 2
