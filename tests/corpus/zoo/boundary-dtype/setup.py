# A boundary handed over in bfloat16.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["boundaries"][1]["dtype"] = "bfloat16"
