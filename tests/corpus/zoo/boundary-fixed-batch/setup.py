# A boundary shape with a fixed batch dimension.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["boundaries"][0]["shape"][0] = 1
