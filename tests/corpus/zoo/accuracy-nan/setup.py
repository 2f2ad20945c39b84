# Python's json writes NaN, which is not JSON.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["variants"][0]["accuracy"] = float("nan")
