# An accuracy written as text.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["variants"][0]["accuracy"] = "92.3%"
