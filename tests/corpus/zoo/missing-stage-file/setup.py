# A stage file that is not there.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "us70", 2)["file"] = "stages/us70/stage9.pt"
