# A boundary dimension no tensor can have.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["boundaries"][0]["shape"] = [-1, 32, 16, 4294967296]
