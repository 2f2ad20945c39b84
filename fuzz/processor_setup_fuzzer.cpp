// profile::ParseProcessorSetup on arbitrary input, in both of its forms: the input as the
// "NAME:CORES:THREADS,..." list (unless it names a file), and the input as a processor JSON file.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "fuzz_input.h"
#include "profile/processor_setup.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find('/') == std::string::npos && text.find(".json") == std::string::npos) {
    try {
      (void)sparseloom::profile::ToString(sparseloom::profile::ParseProcessorSetup(text));
    } catch (const sparseloom::Error&) {
    }
  }
  const auto file = sparseloom::fuzz::WriteFile("processors.json", data, size);
  try {
    (void)sparseloom::profile::ToString(sparseloom::profile::ParseProcessorSetup(file.string()));
  } catch (const sparseloom::Error&) {
  }
  return 0;
}
