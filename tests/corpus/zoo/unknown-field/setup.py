# A field the format does not have, at the top level.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["licence"] = "MIT"
