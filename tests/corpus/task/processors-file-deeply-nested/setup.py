# A processor file of nested objects: refused by its depth before it is parsed.
open("processors.json", "w").write('{"a":' * 1000)
