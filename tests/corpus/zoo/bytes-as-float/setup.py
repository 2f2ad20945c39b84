# A stage size written as a float.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "us50", 2)["bytes"] = 249605.0
