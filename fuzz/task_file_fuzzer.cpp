// plan::LoadTaskFile on arbitrary task files. The folder holds a zoo folder `z` that the seeds
// (fuzz/corpus/task_file) name, so that inputs get past the zoo check.

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "common/error.h"
#include "fuzz_input.h"
#include "plan/task_file.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::filesystem::create_directories(sparseloom::fuzz::Folder() / "z");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = sparseloom::fuzz::WriteFile("tasks.json", data, size);
  try {
    const sparseloom::plan::TaskFile tasks = sparseloom::plan::LoadTaskFile(file);
    (void)sparseloom::plan::ToString(tasks.placements);
  } catch (const sparseloom::Error&) {
  }
  return 0;
}
