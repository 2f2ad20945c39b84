# An absolute stage path.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "dense", 1)["file"] = "/etc/hostname"
