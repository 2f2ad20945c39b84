// sim::LoadDeviceProfile on arbitrary device profiles (seeds: the shipped profiles in devices/).
// A profile that loads must also survive its own round trip through DeviceProfileToJson.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#include "common/error.h"
#include "fuzz_input.h"
#include "sim/device_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = sparseloom::fuzz::WriteFile("device.json", data, size);
  sparseloom::sim::DeviceProfile profile;
  try {
    profile = sparseloom::sim::LoadDeviceProfile(file);
  } catch (const sparseloom::Error&) {
    return 0;
  }
  (void)profile.ProcessorNames(true);
  const auto again = sparseloom::fuzz::WriteFile(
      "device-again.json", sparseloom::sim::DeviceProfileToJson(profile, "fuzz"));
  try {
    (void)sparseloom::sim::LoadDeviceProfile(again);
  } catch (const sparseloom::Error& e) {
    std::cerr << "a profile that loaded does not load again after DeviceProfileToJson: " << e.what()
              << "\n";
    std::abort();
  }
  return 0;
}
