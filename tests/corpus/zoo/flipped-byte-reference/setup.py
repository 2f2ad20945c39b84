# One byte of the reference set (the builder's outputs) changed in place.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    pass
flip_bytes("zoo/reference.pt", -100)
