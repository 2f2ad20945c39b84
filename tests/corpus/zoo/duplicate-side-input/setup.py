# A side input named like the input.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["side_inputs"] = [dict(m["input"])]
