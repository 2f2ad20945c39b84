# A valid manifest carrying a 3 MB unknown field (under the size limit): refused as unknown.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["notes"] = "x" * (3 << 20)
