// zoo::LoadZoo on arbitrary manifests. The zoo folder holds small files the seeds name
// (fuzz/corpus/zoo_manifest): s1.pt (1 byte), s2.pt (2 bytes), s3.pt (3 bytes), v.pt and r.pt.

#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "fuzz_input.h"
#include "zoo/zoo.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using sparseloom::fuzz::WriteFile;
  WriteFile("zoo/s1.pt", "1");
  WriteFile("zoo/s2.pt", "22");
  WriteFile("zoo/s3.pt", "333");
  WriteFile("zoo/v.pt", "v");
  WriteFile("zoo/r.pt", "r");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = sparseloom::fuzz::WriteFile("zoo/zoo.json", data, size);
  try {
    const sparseloom::zoo::Zoo zoo = sparseloom::zoo::LoadZoo(file.parent_path());
    // What the readers of a loaded zoo do first.
    (void)zoo.StitchedCount();
    for (int k = 1; k <= zoo.num_stages; ++k)
      (void)zoo.Signature(k);
    (void)zoo.VariantIndex(zoo.variants.front().id);
  } catch (const sparseloom::Error&) {
  }
  return 0;
}
