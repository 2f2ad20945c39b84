# A zoo with no variant.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["variants"] = []
