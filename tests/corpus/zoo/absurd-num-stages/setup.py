# A corrupted stage count.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["num_stages"] = 1000000
