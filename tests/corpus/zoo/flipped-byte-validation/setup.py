# One byte of the validation set changed in place.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    pass
flip_bytes("zoo/validation.pt", -100)
