# Two variants with the same id.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["variants"][6]["id"] = "us30"
