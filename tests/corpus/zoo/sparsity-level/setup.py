# A sparsity level in percent.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "us90", 1)["sparsity"]["level"] = 90
