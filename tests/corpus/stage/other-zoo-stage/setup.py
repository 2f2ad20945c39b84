# A stage of another zoo (the transformer's stage 2, which also takes the mask).
# The manifest's size and hash match it: what is checked is the engine's reading of the file.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    s = stage(m, "us30", 2)
    data = open(ZOOS / "tiny_transformer/stages/us30/stage2.pt", "rb").read()
    replace_stage(s, data)
