# One boundary spec for a three-stage zoo (K - 1 = 2 needed).
from corpus import *

with zoo_copy("tiny_cnn") as m:
    del m["boundaries"][1]
