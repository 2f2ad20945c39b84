# A variant without its measured accuracy.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    del m["variants"][4]["accuracy"]
