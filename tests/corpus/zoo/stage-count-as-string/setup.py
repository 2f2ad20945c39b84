# num_stages written as a string.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["num_stages"] = "3"
