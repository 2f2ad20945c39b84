# A stage file without read permission (reported as "errno 13 on fopen" before). Root reads any
# file: the runner drops that capability for this case (the file `unprivileged`).
import os

from corpus import *

with zoo_copy("tiny_cnn") as m:
    path = "zoo/" + stage(m, "int8", 1)["file"]
replace_file(path, open(path, "rb").read())
os.chmod(path, 0)
