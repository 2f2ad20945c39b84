# The transformer zoo's table copied where the CNN zoo's belongs.
import json

from corpus import *

TABLE = "profiles/tiny-shapes-cnn/performance_table.json"
write_table("tiny_transformer", TABLE)
