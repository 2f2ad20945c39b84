#include "profile/gradient_boosting.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <utility>

#include "common/error.h"

namespace sparseloom::profile {
namespace {

void Check(int rc, const char* call) {
  if (rc != 0)
    throw EngineError(std::string("xgboost ") + call + " failed: " + XGBGetLastError());
}

struct Matrix {
  DMatrixHandle handle = nullptr;
  explicit Matrix(const FeatureMatrix& x) {
    if (x.cols == 0 || x.values.size() % x.cols != 0)
      throw UsageError("feature matrix: values are not a whole number of rows");
    Check(XGDMatrixCreateFromMat(x.values.data(), x.rows(), x.cols, std::nanf(""), &handle),
          "XGDMatrixCreateFromMat");
  }
  ~Matrix() { XGDMatrixFree(handle); }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
};

BoosterHandle NewBooster(const DMatrixHandle* matrices, bst_ulong count) {
  BoosterHandle booster = nullptr;
  Check(XGBoosterCreate(matrices, count, &booster), "XGBoosterCreate");
  return booster;
}

void SetParam(BoosterHandle booster, const char* name, const std::string& value) {
  Check(XGBoosterSetParam(booster, name, value.c_str()), "XGBoosterSetParam");
}

}  // namespace

void FeatureMatrix::AddRow(std::span<const float> row) {
  if (cols == 0)
    cols = row.size();
  if (row.size() != cols) {
    throw UsageError("feature matrix: row of " + std::to_string(row.size()) +
                     " features, expected " + std::to_string(cols));
  }
  values.insert(values.end(), row.begin(), row.end());
}

GradientBoostedTrees GradientBoostedTrees::Train(const FeatureMatrix& x, std::span<const float> y,
                                                 const BoostingOptions& o) {
  if (x.rows() != y.size() || y.empty()) {
    throw UsageError("xgboost training: " + std::to_string(x.rows()) + " feature rows and " +
                     std::to_string(y.size()) + " targets (need equal, non-zero counts)");
  }
  Matrix train(x);
  Check(XGDMatrixSetFloatInfo(train.handle, "label", y.data(), y.size()), "XGDMatrixSetFloatInfo");
  GradientBoostedTrees model(NewBooster(&train.handle, 1));
  SetParam(model.booster_, "objective", "reg:squarederror");
  SetParam(model.booster_, "booster", "gbtree");
  SetParam(model.booster_, "tree_method", "exact");
  SetParam(model.booster_, "nthread", "1");  // small data; keep the profiled cores quiet
  SetParam(model.booster_, "max_depth", std::to_string(o.max_depth));
  SetParam(model.booster_, "eta", std::to_string(o.learning_rate));
  SetParam(model.booster_, "min_child_weight", std::to_string(o.min_child_weight));
  SetParam(model.booster_, "subsample", std::to_string(o.subsample));
  SetParam(model.booster_, "lambda", std::to_string(o.lambda));
  SetParam(model.booster_, "base_score", "0");
  SetParam(model.booster_, "seed", std::to_string(o.seed));
  SetParam(model.booster_, "verbosity", "0");
  for (int i = 0; i < o.rounds; ++i)
    Check(XGBoosterUpdateOneIter(model.booster_, i, train.handle), "XGBoosterUpdateOneIter");
  return model;
}

GradientBoostedTrees::~GradientBoostedTrees() {
  if (booster_ != nullptr)
    XGBoosterFree(booster_);
}

GradientBoostedTrees::GradientBoostedTrees(GradientBoostedTrees&& other) noexcept
    : booster_(std::exchange(other.booster_, nullptr)) {}

GradientBoostedTrees& GradientBoostedTrees::operator=(GradientBoostedTrees&& other) noexcept {
  if (this != &other) {
    if (booster_ != nullptr)
      XGBoosterFree(booster_);
    booster_ = std::exchange(other.booster_, nullptr);
  }
  return *this;
}

std::vector<double> GradientBoostedTrees::Predict(const FeatureMatrix& x) const {
  if (x.rows() == 0)
    return {};
  Matrix data(x);
  bst_ulong length = 0;
  const float* result = nullptr;
  Check(XGBoosterPredict(booster_, data.handle, 0, 0, 0, &length, &result), "XGBoosterPredict");
  if (length != x.rows()) {
    throw EngineError("xgboost XGBoosterPredict returned " + std::to_string(length) +
                      " values for " + std::to_string(x.rows()) + " rows");
  }
  return std::vector<double>(result, result + length);
}

std::string GradientBoostedTrees::Save() const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  Check(XGBoosterSaveModelToBuffer(booster_, R"({"format": "json"})", &length, &bytes),
        "XGBoosterSaveModelToBuffer");
  return std::string(bytes, length);
}

GradientBoostedTrees GradientBoostedTrees::Load(const std::string& model) {
  GradientBoostedTrees out(NewBooster(nullptr, 0));
  Check(XGBoosterLoadModelFromBuffer(out.booster_, model.data(), model.size()),
        "XGBoosterLoadModelFromBuffer");
  return out;
}

}  // namespace sparseloom::profile
