# A stage size past any disk (the file itself replaced by 10 bytes, so the message does not
# depend on the test zoo's build).
from corpus import *

with zoo_copy("tiny_cnn") as m:
    replace_file("zoo/" + stage(m, "dense", 1)["file"], b"0123456789")
    stage(m, "dense", 1)["bytes"] = 9223372036854775807
