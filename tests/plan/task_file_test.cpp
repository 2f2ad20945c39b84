// The task file of `sparseloom plan`: a valid file is read with paths resolved against its folder,
// and every malformed one is an InputError naming the file, the field and what was expected.
// Fast: temporary JSON files and empty folders standing in for zoos, no model files.

#include "plan/task_file.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <fstream>
#include <string>

#include "common/error.h"

namespace sparseloom::plan {
namespace {

namespace fs = std::filesystem;

class TaskFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sparseloom-task-file-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "zoos" / "cnn");
    fs::create_directories(dir_ / "zoos" / "bert");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& text) {
    const fs::path file = dir_ / "tasks.json";
    std::ofstream(file) << text;
    return file;
  }

  // The message of the InputError that loading `text` throws; fails the test if none is thrown.
  std::string ErrorOf(const std::string& text) {
    try {
      LoadTaskFile(Write(text));
    } catch (const InputError& e) {
      EXPECT_EQ(e.file(), (dir_ / "tasks.json").string());
      return e.what();
    }
    ADD_FAILURE() << "no InputError for: " << text;
    return "";
  }

  // A valid file with `task` as its only task and `top` as extra top-level fields.
  static std::string WithTask(const std::string& task, const std::string& top = "") {
    return R"({"version": 1, )" + top + R"("tasks": [)" + task + "]}";
  }
  static constexpr const char* kTask =
      R"({"name": "cls", "zoo": "zoos/cnn", "min_accuracy": 0.85, "max_latency_ms": 5, "rate_per_s": 50})";

  fs::path dir_;
};

TEST_F(TaskFileTest, ReadsAValidFileWithDefaults) {
  const TaskFile f = LoadTaskFile(Write(WithTask(kTask)));
  EXPECT_EQ(f.processors, "");
  EXPECT_EQ(f.memory_budget_bytes, 0);
  EXPECT_EQ(f.placements, PlacementSpace::kAnyMapping);
  ASSERT_EQ(f.tasks.size(), 1u);
  EXPECT_EQ(f.tasks[0].name, "cls");
  EXPECT_EQ(f.tasks[0].zoo_dir, dir_ / "zoos" / "cnn");
  EXPECT_TRUE(f.tasks[0].profile_dir.empty());
  EXPECT_DOUBLE_EQ(f.tasks[0].slo.min_accuracy, 0.85);
  EXPECT_DOUBLE_EQ(f.tasks[0].slo.max_latency_ms, 5.0);
  EXPECT_DOUBLE_EQ(f.tasks[0].rate_per_s, 50.0);
}

TEST_F(TaskFileTest, ReadsEveryOptionalField) {
  const TaskFile f = LoadTaskFile(Write(R"({
    "version": 1, "processors": "cpu0:0:1,cpu1:1:1", "memory_budget_mb": 1.5,
    "placements": "orders", "profile_dir": "profiles",
    "tasks": [
      {"name": "cls", "zoo": "zoos/cnn", "min_accuracy": 0, "max_latency_ms": 0.5, "rate_per_s": 0},
      {"name": "sent", "zoo": ")" + (dir_ / "zoos" / "bert").string() +
                                        R"(", "profile_dir": "../elsewhere",
       "min_accuracy": 1, "max_latency_ms": 100, "rate_per_s": 2.5}]})"));
  EXPECT_EQ(f.processors, "cpu0:0:1,cpu1:1:1");
  EXPECT_EQ(f.memory_budget_bytes, 1536 * 1024);
  EXPECT_EQ(f.placements, PlacementSpace::kOrders);
  ASSERT_EQ(f.tasks.size(), 2u);
  EXPECT_EQ(f.tasks[0].profile_dir, dir_ / "profiles");
  EXPECT_EQ(f.tasks[1].zoo_dir, dir_ / "zoos" / "bert");
  EXPECT_EQ(f.tasks[1].profile_dir, (dir_ / ".." / "elsewhere").lexically_normal());
  EXPECT_DOUBLE_EQ(f.tasks[1].slo.min_accuracy, 1.0);
}

TEST_F(TaskFileTest, ResolvesAProcessorFileAgainstItsFolder) {
  const TaskFile f = LoadTaskFile(Write(WithTask(kTask, R"("processors": "setup.json", )")));
  EXPECT_EQ(f.processors, (dir_ / "setup.json").string());
}

TEST_F(TaskFileTest, NamesTheFieldAndWhatWasExpected) {
  struct Case {
    std::string text;
    std::string message;  // a part of the error message
  };
  const std::string zoo = R"("zoo": "zoos/cnn", )";
  const std::string rest = R"("max_latency_ms": 5, "rate_per_s": 1)";
  const std::vector<Case> cases = {
      {"{", "expected valid JSON"},
      {"[]", "(top level): expected an object, got []"},
      {R"({"tasks": []})", "version: expected a value, got field is missing"},
      {R"({"version": 2, "tasks": []})", "version: expected version 1, got 2"},
      {R"({"version": "1", "tasks": []})", "version: expected version 1, got \"1\""},
      {R"({"version": 1})", "tasks: expected a value, got field is missing"},
      {R"({"version": 1, "tasks": []})", "tasks: expected an array of at least one task"},
      {R"({"version": 1, "tasks": {}})", "tasks: expected an array of at least one task"},
      {WithTask(kTask, R"("budget_mb": 3, )"),
       "budget_mb: expected one of the known fields (memory_budget_mb, placements, processors, "
       "profile_dir, tasks, version), got an unknown field"},
      {WithTask(R"({"name": "a", )" + zoo + R"("min_accuracy": 0.5, "max_latency": 5, )" +
                R"("rate_per_s": 1})"),
       "tasks[0].max_latency: expected one of the known fields"},
      {WithTask(R"({)" + zoo + R"("min_accuracy": 0.5, )" + rest + "}"),
       "tasks[0].name: expected a value, got field is missing"},
      {WithTask(R"({"name": "", )" + zoo + R"("min_accuracy": 0.5, )" + rest + "}"),
       "tasks[0].name: expected a non-empty task name"},
      {WithTask(R"({"name": "a", "min_accuracy": 0.5, )" + rest + "}"),
       "tasks[0].zoo: expected a value, got field is missing"},
      {WithTask(R"({"name": "a", "zoo": "zoos/none", "min_accuracy": 0.5, )" + rest + "}"),
       "tasks[0].zoo: expected an existing zoo directory, got no such directory: " +
           (dir_ / "zoos" / "none").string()},
      {WithTask(R"({"name": "a", )" + zoo + rest + "}"),
       "tasks[0].min_accuracy: expected a value, got field is missing"},
      {WithTask(R"({"name": "a", )" + zoo + R"("min_accuracy": 1.5, )" + rest + "}"),
       "tasks[0].min_accuracy: expected an accuracy in [0, 1] (a fraction: 0.9 for 90%), got 1.5"},
      {WithTask(R"({"name": "a", )" + zoo + R"("min_accuracy": -0.1, )" + rest + "}"),
       "tasks[0].min_accuracy: expected an accuracy in [0, 1]"},
      {WithTask(R"({"name": "a", )" + zoo + R"("min_accuracy": "NaN", )" + rest + "}"),
       "tasks[0].min_accuracy: expected an accuracy in [0, 1] (a fraction: 0.9 for 90%), got "
       "\"NaN\""},
      {WithTask(R"({"name": "a", )" + zoo + R"("min_accuracy": null, )" + rest + "}"),
       "tasks[0].min_accuracy: expected an accuracy in [0, 1] (a fraction: 0.9 for 90%), got null"},
      {WithTask(R"({"name": "a", )" + zoo + R"("min_accuracy": 0.5, "rate_per_s": 1})"),
       "tasks[0].max_latency_ms: expected a value, got field is missing"},
      {WithTask(R"({"name": "a", )" + zoo +
                R"("min_accuracy": 0.5, "max_latency_ms": 0, "rate_per_s": 1})"),
       "tasks[0].max_latency_ms: expected a finite latency > 0 in milliseconds, got 0"},
      {WithTask(R"({"name": "a", )" + zoo +
                R"("min_accuracy": 0.5, "max_latency_ms": -3, "rate_per_s": 1})"),
       "tasks[0].max_latency_ms: expected a finite latency > 0 in milliseconds, got -3"},
      {WithTask(R"({"name": "a", )" + zoo +
                R"("min_accuracy": 0.5, "max_latency_ms": 1e999, "rate_per_s": 1})"),
       "expected valid JSON, got [json.exception.out_of_range.406] number "
       "overflow parsing '1e999'"},
      {WithTask(R"({"name": "a", )" + zoo + R"("min_accuracy": 0.5, "max_latency_ms": 5})"),
       "tasks[0].rate_per_s: expected a value, got field is missing"},
      {WithTask(R"({"name": "a", )" + zoo +
                R"("min_accuracy": 0.5, "max_latency_ms": 5, "rate_per_s": -1})"),
       "tasks[0].rate_per_s: expected a finite request rate >= 0 per second, got -1"},
      {R"({"version": 1, "tasks": [)" + std::string(kTask) + ", " + kTask + "]}",
       "tasks[1].name: expected a task name not used by an earlier task, got 'cls' again"},
      {WithTask(kTask, R"("placements": "perm", )"),
       "placements: expected \"any\" (any mapping of stages to processors) or \"orders\" (one "
       "processor per stage), got \"perm\""},
      {WithTask(kTask, R"("memory_budget_mb": -1, )"),
       "memory_budget_mb: expected a memory budget >= 0 in MiB (0 = unlimited), got -1"},
      {WithTask(kTask, R"("processors": "", )"),
       "processors: expected a processor setup: \"NAME:CORES:THREADS,...\" or a JSON file"},
      {WithTask(kTask, R"("processors": ["cpu0"], )"), "processors: expected a processor setup"},
      {R"({"version": 1, "tasks": [3]})", "tasks[0]: expected an object, got 3"},
  };
  for (const Case& c : cases) {
    const std::string message = ErrorOf(c.text);
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "file: " << c.text << "\nmessage: " << message << "\nexpected to contain: " << c.message;
  }
}

TEST_F(TaskFileTest, AMissingFileIsAnInputError) {
  EXPECT_THROW(LoadTaskFile(dir_ / "none.json"), InputError);
}

TEST(PlacementSpaceNames, AreTheTaskFileSpelling) {
  EXPECT_EQ(ToString(PlacementSpace::kAnyMapping), "any");
  EXPECT_EQ(ToString(PlacementSpace::kOrders), "orders");
}

}  // namespace
}  // namespace sparseloom::plan
