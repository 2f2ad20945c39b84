# A variant id that is not [a-z0-9_]+.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["variants"][1]["id"] = "US 30%"
