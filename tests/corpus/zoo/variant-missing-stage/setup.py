# A variant with two of its three stages.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    del m["variants"][2]["stages"][2]
