# More non-zeros than parameters.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "us90", 3)["params"] = 1000
    stage(m, "us90", 3)["nonzeros"] = 1001
