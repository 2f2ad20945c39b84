# 4 KB of a stage file's weights changed in place, same size: the manifest's size still matches,
# its content hash does not.
import os

from corpus import *

with zoo_copy("tiny_cnn") as m:
    path = "zoo/" + stage(m, "us70", 3)["file"]
flip_bytes(path, os.path.getsize(path) // 2, 4096)
