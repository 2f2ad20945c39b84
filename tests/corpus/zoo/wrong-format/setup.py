# Another tool's JSON in place of a zoo manifest.
from corpus import *

with zoo_copy("tiny_cnn") as m:
    m["format"] = "onnx-model-zoo"
