# A manifest written by a newer zoo builder.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["version"] = 2
