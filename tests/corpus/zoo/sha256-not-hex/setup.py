# A content hash that is not a SHA-256 (an MD5 in its place).
from corpus import *

with zoo_copy("tiny_cnn") as m:
    stage(m, "struct30", 2)["sha256"] = "d41d8cd98f00b204e9800998ecf8427e"
