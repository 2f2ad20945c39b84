# The manifest given where the zoo directory is expected.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    pass
