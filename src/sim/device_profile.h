#pragma once
// A device profile (docs/devices.md): the processors of one SoC described by what sets a stage's
// time on them — peak throughput and attainable utilization per precision, memory bandwidth, how
// much of each kind of sparsity they turn into saved work, what they cannot run, dispatch
// overhead — and the storage that on-demand stage loads read from. Read from versioned JSON in
// which every number carries its public source; the simulator and the cost model see only these
// structs.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zoo/zoo.h"

namespace sparseloom::sim {

inline constexpr int kDeviceProfileVersion = 1;
inline constexpr const char* kDeviceProfileFormat = "sparseloom-device";

// What a processor computes in. `kHalf` is 16-bit float: bf16 on CPUs, fp16 on GPUs, NPUs and
// DLAs; it is what a zoo's bf16 stages run as (DESIGN.md: bf16 is the CPU stand-in for FP16).
enum class ComputePrecision { kFp32 = 0, kHalf = 1, kInt8 = 2 };
inline constexpr int kNumComputePrecisions = 3;

std::string ToString(ComputePrecision p);  // "fp32", "half", "int8"
ComputePrecision ComputePrecisionOf(zoo::Precision p);

enum class ProcessorKind { kCpu, kGpu, kNpu, kDla };
std::string ToString(ProcessorKind k);

// How a processor handles stages of one precision.
struct PrecisionSupport {
  enum class Mode {
    kNative,       // runs at `peak_ops_per_s * utilization`
    kExecutedAs,   // converted at load and run as `executed_as` (e.g. an NPU runs fp32 as fp16)
    kUnsupported,  // cannot run such a stage: the cost model refuses it
  };
  Mode mode = Mode::kNative;
  double peak_ops_per_s = 0.0;  // kNative: published or derived peak (MAC = 2 ops)
  double utilization = 0.0;     // kNative: fraction of peak a batch-1 stage attains, in (0, 1]
  ComputePrecision executed_as = ComputePrecision::kFp32;  // kExecutedAs
  std::string reason;  // kUnsupported / kExecutedAs: why, with its source

  double EffectiveOpsPerS() const { return peak_ops_per_s * utilization; }
};

struct ProcessorProfile {
  std::string name;  // unique within the device, e.g. "cpu", "gpu", "npu"
  ProcessorKind kind = ProcessorKind::kCpu;
  std::string description;
  // Present on the SoC but not one of the processors the paper's setup uses (e.g. Orin's DLA):
  // a simulator leaves it out unless asked.
  bool optional = false;
  std::array<PrecisionSupport, kNumComputePrecisions> precisions;  // by ComputePrecision
  double memory_bytes_per_s = 0.0;
  // Fraction of a stage's sparsity turned into saved compute, in [0, 1] (cost_model.h says how).
  double unstructured_exploited = 0.0;
  double structured_exploited = 1.0;
  double dispatch_overhead_ms = 0.0;  // fixed cost of launching one stage
  // Zoo families (zoo.json "family") this processor cannot run whole, each with its reason.
  std::map<std::string, std::string> unsupported_families;
  // Throughput multiplier per zoo family and precision, relative to the family the profile was
  // measured on (1 where absent). Only fitted profiles have them: how well a software stack
  // handles convolutions versus attention differs per family.
  std::map<std::string, std::array<double, kNumComputePrecisions>> family_factors;

  const PrecisionSupport& Support(ComputePrecision p) const {
    return precisions[static_cast<int>(p)];
  }
  PrecisionSupport& Support(ComputePrecision p) { return precisions[static_cast<int>(p)]; }
  double FamilyFactor(const std::string& family, ComputePrecision p) const;
};

// Where stages not resident in memory are read from.
struct StorageProfile {
  double read_bytes_per_s = 0.0;
  double per_load_ms = 0.0;  // fixed cost of one load (open, deserialize, allocate)
};

struct DeviceProfile {
  std::filesystem::path file;
  int version = 0;
  std::string name;
  std::string description;
  std::vector<ProcessorProfile> processors;
  StorageProfile storage;
  // JSON path of every number → its "source" text (and "derivation" when given), for reports.
  std::map<std::string, std::string> sources;

  // The processor with this name; UsageError listing the known names otherwise.
  const ProcessorProfile& Processor(const std::string& name) const;
  // Names of the processors a simulator uses: all, or all but the optional ones.
  std::vector<std::string> ProcessorNames(bool include_optional = false) const;
};

// Reads and checks a profile. Every malformed field — missing, unknown, wrong type, zero or
// negative throughput or bandwidth, a fraction outside [0, 1], an unknown precision or kind, a
// number without its source, another version — is an InputError naming the file, the JSON path
// and what was expected.
DeviceProfile LoadDeviceProfile(const std::filesystem::path& file);

// Writes a profile back as JSON in the same format, with the sources it was read with (numbers
// that have none get `default_source`). Used to store a fitted host profile.
std::string DeviceProfileToJson(const DeviceProfile& profile, const std::string& default_source);

}  // namespace sparseloom::sim
