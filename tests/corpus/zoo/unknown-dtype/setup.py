# An input dtype this release does not know.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["input"]["dtype"] = "float16"
