# 1 MB of nested arrays (under the size limit): refused by its depth before it is parsed.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    pass
open("zoo/zoo.json", "w").write("[" * (1 << 20) + "]" * (1 << 20))
