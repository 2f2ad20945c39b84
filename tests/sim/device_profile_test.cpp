#include "sim/device_profile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace sparseloom::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json Cited(double value) {
  return {{"value", value}, {"source", "test"}};
}

// A small valid profile: one CPU and one NPU that runs fp32 as half and cannot run int8.
json ValidProfile() {
  json cpu = {{"name", "cpu"},
              {"kind", "cpu"},
              {"description", "test cpu"},
              {"precisions",
               {{"fp32", {{"peak_ops_per_s", Cited(1e11)}, {"utilization", Cited(0.5)}}},
                {"half", {{"peak_ops_per_s", Cited(2e11)}, {"utilization", Cited(0.5)}}},
                {"int8", {{"peak_ops_per_s", Cited(4e11)}, {"utilization", Cited(0.5)}}}}},
              {"memory_bytes_per_s", Cited(5e10)},
              {"sparsity", {{"unstructured", Cited(0.0)}, {"structured", Cited(1.0)}}},
              {"dispatch_overhead_ms", Cited(0.05)}};
  json npu = {{"name", "npu"},
              {"kind", "npu"},
              {"description", "test npu"},
              {"optional", true},
              {"precisions",
               {{"fp32", {{"executed_as", "half"}, {"source", "test"}}},
                {"half", {{"peak_ops_per_s", Cited(4e12)}, {"utilization", Cited(0.3)}}},
                {"int8", {{"unsupported", "test: no int8"}}}}},
              {"memory_bytes_per_s", Cited(5e10)},
              {"sparsity", {{"unstructured", Cited(0.5)}, {"structured", Cited(1.0)}}},
              {"dispatch_overhead_ms", Cited(0.2)},
              {"unsupported_families",
               json::array({{{"family", "bert"}, {"source", "test: no attention"}}})}};
  return {{"format", "sparseloom-device"},
          {"version", 1},
          {"name", "test-soc"},
          {"description", "for tests"},
          {"processors", json::array({cpu, npu})},
          {"storage", {{"read_bytes_per_s", Cited(1e9)}, {"per_load_ms", Cited(1.0)}}}};
}

class DeviceProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sparseloom_device_test_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& text) {
    const fs::path file = dir_ / "device.json";
    std::ofstream(file) << text;
    return file;
  }

  // Loads ValidProfile() changed by `edit`; expects an InputError whose field and message name
  // `field` and whose expectation mentions `expected`.
  void ExpectError(const std::function<void(json&)>& edit, const std::string& field,
                   const std::string& expected) {
    json j = ValidProfile();
    edit(j);
    const fs::path file = Write(j.dump());
    try {
      LoadDeviceProfile(file);
      FAIL() << "no error for " << field;
    } catch (const InputError& e) {
      EXPECT_EQ(e.file(), file.string());
      EXPECT_EQ(e.field(), field) << e.what();
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      EXPECT_NE(e.expected().find(expected), std::string::npos) << e.what();
    }
  }

  fs::path dir_;
};

TEST_F(DeviceProfileTest, LoadsAValidProfile) {
  const DeviceProfile d = LoadDeviceProfile(Write(ValidProfile().dump()));
  EXPECT_EQ(d.name, "test-soc");
  ASSERT_EQ(d.processors.size(), 2u);
  const ProcessorProfile& npu = d.Processor("npu");
  EXPECT_EQ(npu.kind, ProcessorKind::kNpu);
  EXPECT_TRUE(npu.optional);
  EXPECT_EQ(npu.Support(ComputePrecision::kFp32).mode, PrecisionSupport::Mode::kExecutedAs);
  EXPECT_EQ(npu.Support(ComputePrecision::kFp32).executed_as, ComputePrecision::kHalf);
  EXPECT_EQ(npu.Support(ComputePrecision::kInt8).mode, PrecisionSupport::Mode::kUnsupported);
  EXPECT_DOUBLE_EQ(npu.Support(ComputePrecision::kHalf).EffectiveOpsPerS(), 4e12 * 0.3);
  EXPECT_EQ(npu.unsupported_families.count("bert"), 1u);
  EXPECT_EQ(d.ProcessorNames(), std::vector<std::string>{"cpu"});
  EXPECT_EQ(d.ProcessorNames(true), (std::vector<std::string>{"cpu", "npu"}));
  EXPECT_DOUBLE_EQ(d.storage.read_bytes_per_s, 1e9);
  EXPECT_EQ(d.sources.at("processors[0].memory_bytes_per_s"), "test");
  EXPECT_THROW(d.Processor("gpu"), UsageError);
}

TEST_F(DeviceProfileTest, RoundTripsThroughJson) {
  const DeviceProfile d = LoadDeviceProfile(Write(ValidProfile().dump()));
  const DeviceProfile again = LoadDeviceProfile(Write(DeviceProfileToJson(d, "unused")));
  EXPECT_EQ(again.processors.size(), d.processors.size());
  EXPECT_DOUBLE_EQ(again.Processor("cpu").dispatch_overhead_ms, 0.05);
  EXPECT_EQ(again.Processor("npu").Support(ComputePrecision::kInt8).reason, "test: no int8");
  EXPECT_EQ(again.sources, d.sources);
}

TEST_F(DeviceProfileTest, ZeroOrNegativeThroughputIsAnError) {
  ExpectError(
      [](json& j) { j["processors"][0]["precisions"]["fp32"]["peak_ops_per_s"]["value"] = 0; },
      "processors[0].precisions.fp32.peak_ops_per_s.value", "positive");
  ExpectError(
      [](json& j) { j["processors"][1]["precisions"]["half"]["peak_ops_per_s"]["value"] = -1e12; },
      "processors[1].precisions.half.peak_ops_per_s.value", "positive");
}

TEST_F(DeviceProfileTest, ZeroBandwidthIsAnError) {
  ExpectError([](json& j) { j["processors"][0]["memory_bytes_per_s"]["value"] = 0.0; },
              "processors[0].memory_bytes_per_s.value", "positive");
  ExpectError([](json& j) { j["storage"]["read_bytes_per_s"]["value"] = -5; },
              "storage.read_bytes_per_s.value", "positive");
}

TEST_F(DeviceProfileTest, FractionsOutsideTheirRangeAreErrors) {
  ExpectError([](json& j) { j["processors"][0]["sparsity"]["unstructured"]["value"] = 1.5; },
              "processors[0].sparsity.unstructured.value", "[0, 1]");
  ExpectError(
      [](json& j) { j["processors"][0]["precisions"]["int8"]["utilization"]["value"] = 0.0; },
      "processors[0].precisions.int8.utilization.value", "(0, 1]");
  ExpectError([](json& j) { j["processors"][0]["dispatch_overhead_ms"]["value"] = -0.1; },
              "processors[0].dispatch_overhead_ms.value", "non-negative");
}

TEST_F(DeviceProfileTest, UnknownPrecisionIsAnError) {
  ExpectError(
      [](json& j) {
        j["processors"][0]["precisions"]["fp16"] = j["processors"][0]["precisions"]["half"];
      },
      "processors[0].precisions.fp16", "fp32, half, int8");
  ExpectError([](json& j) { j["processors"][1]["precisions"]["fp32"]["executed_as"] = "fp64"; },
              "processors[1].precisions.fp32.executed_as", "one of fp32, half, int8");
  ExpectError([](json& j) { j["processors"][1]["precisions"]["fp32"]["executed_as"] = "int8"; },
              "processors[1].precisions.fp32.executed_as", "natively");
}

TEST_F(DeviceProfileTest, MissingFieldsAreErrors) {
  ExpectError([](json& j) { j["processors"][0].erase("memory_bytes_per_s"); },
              "processors[0].memory_bytes_per_s", "a value");
  ExpectError([](json& j) { j["processors"][0]["precisions"].erase("int8"); },
              "processors[0].precisions.int8", "a value");
  ExpectError([](json& j) { j.erase("storage"); }, "storage", "a value");
  ExpectError([](json& j) { j["processors"][0]["sparsity"]["structured"].erase("source"); },
              "processors[0].sparsity.structured.source", "a value");
}

TEST_F(DeviceProfileTest, NumbersWithoutSourcesAreErrors) {
  ExpectError([](json& j) { j["processors"][0]["memory_bytes_per_s"] = 5e10; },
              "processors[0].memory_bytes_per_s", "cited number");
  ExpectError([](json& j) { j["processors"][0]["memory_bytes_per_s"]["source"] = ""; },
              "processors[0].memory_bytes_per_s.source", "non-empty source");
}

TEST_F(DeviceProfileTest, WrongVersionOrFormatIsAnError) {
  ExpectError([](json& j) { j["version"] = 2; }, "version", "version 1");
  ExpectError([](json& j) { j["format"] = "sparseloom-zoo"; }, "format", "sparseloom-device");
}

TEST_F(DeviceProfileTest, UnknownFieldsAreErrors) {
  ExpectError([](json& j) { j["processors"][0]["memory_bandwith"] = Cited(1.0); },
              "processors[0].memory_bandwith", "known fields");
  ExpectError([](json& j) { j["extra"] = 1; }, "extra", "known fields");
  ExpectError([](json& j) { j["processors"][0]["sparsity"]["unstructured"]["note"] = "x"; },
              "processors[0].sparsity.unstructured.note", "known fields");
}

TEST_F(DeviceProfileTest, BadKindsNamesAndStructureAreErrors) {
  ExpectError([](json& j) { j["processors"][0]["kind"] = "tpu"; }, "processors[0].kind",
              "cpu, gpu, npu, dla");
  ExpectError([](json& j) { j["processors"][1]["name"] = "cpu"; }, "processors[1].name",
              "not used before");
  ExpectError([](json& j) { j["processors"] = json::array(); }, "processors", "at least one");
  ExpectError(
      [](json& j) {
        for (const char* p : {"fp32", "half", "int8"})
          j["processors"][0]["precisions"][p] = {{"unsupported", "none"}};
      },
      "processors[0].precisions", "at least one precision");
}

TEST_F(DeviceProfileTest, UnreadableOrInvalidJsonIsAnError) {
  EXPECT_THROW(LoadDeviceProfile(dir_ / "missing.json"), InputError);
  EXPECT_THROW(LoadDeviceProfile(Write("{\"format\": ")), InputError);
}

TEST(ShippedDeviceProfiles, AllLoad) {
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(SPARSELOOM_DEVICES_DIR)) {
    if (entry.path().extension() != ".json")
      continue;
    SCOPED_TRACE(entry.path().string());
    const DeviceProfile d = LoadDeviceProfile(entry.path());
    EXPECT_FALSE(d.processors.empty());
    EXPECT_EQ(d.name + ".json", entry.path().filename().string());
    ++loaded;
  }
  EXPECT_GE(loaded, 4);
}

TEST(ShippedDeviceProfiles, HaveThePaperPlatforms) {
  const fs::path dir = SPARSELOOM_DEVICES_DIR;
  const DeviceProfile desktop = LoadDeviceProfile(dir / "intel-core-ultra-7-265k.json");
  EXPECT_EQ(desktop.ProcessorNames(), (std::vector<std::string>{"cpu", "gpu", "npu"}));
  const DeviceProfile laptop = LoadDeviceProfile(dir / "intel-core-ultra-5-135u.json");
  EXPECT_EQ(laptop.ProcessorNames(), (std::vector<std::string>{"cpu", "gpu", "npu"}));
  const DeviceProfile orin = LoadDeviceProfile(dir / "jetson-agx-orin.json");
  EXPECT_EQ(orin.ProcessorNames(), (std::vector<std::string>{"cpu", "gpu"}));
  EXPECT_GT(orin.ProcessorNames(true).size(), 2u);  // DLA, optional
  const DeviceProfile host = LoadDeviceProfile(dir / "host.json");
  EXPECT_EQ(host.ProcessorNames(), (std::vector<std::string>{"cpu0", "cpu1"}));
}

}  // namespace
}  // namespace sparseloom::sim
