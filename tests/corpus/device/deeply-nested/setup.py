# A device profile of nested arrays: refused by its depth before it is parsed.
open("device.json", "w").write("[" * 5000)
