// The Open Inference Protocol's documents without a server: requests in JSON and with binary data,
// every error naming its field, responses, metadata and the metrics text.
#include "serve/inference_protocol.h"

#include <cstring>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serve/metrics.h"

namespace sparseloom::serve {
namespace {

using nlohmann::json;

TaskInfo Image() {
  TaskInfo t;
  t.name = "image";
  t.inputs = {{"input", DType::kFloat32, {-1, 2, 2}}};
  t.output = {"output", DType::kFloat32, {-1, 3}};
  return t;
}

TaskInfo Text() {
  TaskInfo t;
  t.name = "text";
  t.inputs = {{"input", DType::kInt64, {-1, 4}}, {"mask", DType::kBool, {-1, 4}}};
  t.output = {"output", DType::kFloat32, {-1, 2}};
  return t;
}

std::string ErrorOf(const std::string& body, const TaskInfo& model,
                    std::optional<std::size_t> json_length = std::nullopt) {
  try {
    ParseInferRequest(body, json_length, model);
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.what();
  }
  return "no error";
}

TEST(InferRequest, JsonFlatAndNestedDataGiveTheSameTensor) {
  const std::string flat =
      R"({"id":"a1","inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32",)"
      R"("data":[1,2,3.5,-4]}]})";
  const std::string nested = R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32",)"
                             R"("data":[[[1,2],[3.5,-4]]]}]})";
  const InferRequest a = ParseInferRequest(flat, std::nullopt, Image());
  const InferRequest b = ParseInferRequest(nested, std::nullopt, Image());
  ASSERT_EQ(a.inputs.size(), 1u);
  EXPECT_EQ(a.id, "a1");
  EXPECT_FALSE(b.id);
  EXPECT_EQ(a.inputs[0].shape(), (std::vector<std::int64_t>{1, 2, 2}));
  const std::vector<float> want{1, 2, 3.5f, -4};
  for (const InferRequest* r : {&a, &b}) {
    const auto v = r->inputs[0].values<float>();
    EXPECT_EQ(std::vector<float>(v.begin(), v.end()), want);
  }
}

TEST(InferRequest, InputsComeInTheModelsOrderWhateverTheRequestsOrder) {
  const std::string body =
      R"({"inputs":[{"name":"mask","shape":[1,4],"datatype":"BOOL","data":[true,true,false,false]},)"
      R"({"name":"input","shape":[1,4],"datatype":"INT64","data":[5,6,7,8]}]})";
  const InferRequest r = ParseInferRequest(body, std::nullopt, Text());
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[0].dtype(), DType::kInt64);
  EXPECT_EQ(r.inputs[0].values<std::int64_t>()[3], 8);
  EXPECT_EQ(r.inputs[1].dtype(), DType::kBool);
  EXPECT_EQ(r.inputs[1].values<std::uint8_t>()[0], 1);
  EXPECT_EQ(r.inputs[1].values<std::uint8_t>()[2], 0);
}

TEST(InferRequest, BinaryDataFollowsTheJsonInTheInputsOrder) {
  const std::string header =
      R"({"inputs":[{"name":"mask","shape":[1,4],"datatype":"BOOL","parameters":{"binary_data_size":4}},)"
      R"({"name":"input","shape":[1,4],"datatype":"INT64","parameters":{"binary_data_size":32}}],)"
      R"("outputs":[{"name":"output","parameters":{"binary_data":true}}]})";
  std::string body = header;
  body += std::string("\x01\x01\x00\x01", 4);
  const std::int64_t ids[4] = {10, 20, 30, 40};
  body.append(reinterpret_cast<const char*>(ids), sizeof ids);
  const InferRequest r = ParseInferRequest(body, header.size(), Text());
  EXPECT_TRUE(r.binary_output);
  EXPECT_EQ(r.inputs[0].values<std::int64_t>()[2], 30);
  EXPECT_EQ(r.inputs[1].values<std::uint8_t>()[2], 0);
  EXPECT_EQ(ErrorOf(body.substr(0, body.size() - 1), Text(), header.size()),
            "request: inputs[1].parameters.binary_data_size: expected 32 bytes of binary data "
            "after the JSON, got 31 left in the body");
  EXPECT_EQ(ErrorOf(body + "x", Text(), header.size()),
            "request: binary data: expected 36 bytes after the JSON (the inputs' "
            "binary_data_size), got 37");
}

TEST(InferRequest, ParametersBecomeSubmitOptions) {
  const std::string body =
      R"({"parameters":{"priority":2,"timeout":5000,"sparseloom_max_latency_ms":3,)"
      R"("sparseloom_min_accuracy":0.8,"binary_data_output":true,"other":"ignored"},)"
      R"("inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[0,0,0,0]}]})";
  const InferRequest r = ParseInferRequest(body, std::nullopt, Image());
  EXPECT_EQ(r.submit.priority, -2);
  EXPECT_DOUBLE_EQ(r.submit.timeout_ms, 3.0);  // the nearer of 5 ms and 3 ms
  EXPECT_DOUBLE_EQ(r.submit.min_accuracy, 0.8);
  EXPECT_TRUE(r.binary_output);
  // Triton's level 1 is the highest: it runs before level 2 and before the default (0).
  const auto priority = [](int level) {
    const std::string b = R"({"parameters":{"priority":)" + std::to_string(level) +
                          R"(},"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32",)"
                          R"("data":[0,0,0,0]}]})";
    return ParseInferRequest(b, std::nullopt, Image()).submit.priority;
  };
  EXPECT_GT(priority(1), priority(2));
  EXPECT_GT(priority(2), priority(0));
}

TEST(InferRequest, EveryMistakeNamesItsField) {
  const std::string ok_input =
      R"({"name":"input","shape":[1,2,2],"datatype":"FP32","data":[0,0,0,0]})";
  const auto with = [](const std::string& input) { return R"({"inputs":[)" + input + "]}"; };
  EXPECT_EQ(ErrorOf("{\"inputs\": [", Image()).rfind("request: expected a JSON object, got ", 0),
            0u);
  EXPECT_EQ(ErrorOf("[]", Image()), "request: (top level): expected a JSON object, got []");
  EXPECT_EQ(
      ErrorOf(R"({"inputs":[],"model":1})", Image()),
      "request: model: expected one of id, parameters, inputs, outputs, got an unknown field");
  EXPECT_EQ(ErrorOf(R"({"id":"x"})", Image()),
            "request: inputs: expected a value, got field is missing");
  EXPECT_EQ(ErrorOf(with(R"({"name":"pixels","shape":[1,2,2],"datatype":"FP32","data":[0,0,0,0]})"),
                    Image()),
            "request: inputs[0].name: expected an input of model 'image' ('input'), got 'pixels'");
  EXPECT_EQ(ErrorOf(with(R"({"name":"input","shape":[1,2,2],"datatype":"FP64","data":[0,0,0,0]})"),
                    Image()),
            "request: inputs[0].datatype: expected FP32 (input 'input'), got FP64");
  EXPECT_EQ(ErrorOf(with(R"({"name":"input","shape":[2,2,2],"datatype":"FP32","data":[0,0,0,0]})"),
                    Image()),
            "request: inputs[0].shape: expected [1,2,2] (input 'input', batch 1), got [2,2,2]");
  EXPECT_EQ(ErrorOf(with(R"({"name":"input","shape":[1,2,2],"datatype":"FP32","data":[0,0,0]})"),
                    Image()),
            "request: inputs[0].data: expected 4 values (the shape's elements), got 3");
  EXPECT_EQ(
      ErrorOf(with(R"({"name":"input","shape":[1,2,2],"datatype":"FP32","data":[0,"a",0,0]})"),
              Image()),
      "request: inputs[0].data[1]: expected a finite FP32 number, got \"a\"");
  EXPECT_EQ(
      ErrorOf(with(R"({"name":"input","shape":[1,2,2],"datatype":"FP32","data":[0,1e300,0,0]})"),
              Image()),
      "request: inputs[0].data[1]: expected a finite FP32 number, got 1e+300");
  EXPECT_EQ(ErrorOf(with(ok_input + "," + ok_input), Image()),
            "request: inputs: expected 1 input(s), got 2");
  EXPECT_EQ(ErrorOf(R"({"parameters":{"sparseloom_min_accuracy":1.5},"inputs":[)" + ok_input + "]}",
                    Image()),
            "request: parameters.sparseloom_min_accuracy: expected a fraction in [0, 1], got "
            "1.500000");
  EXPECT_EQ(ErrorOf(R"({"outputs":[{"name":"probs"}],"inputs":[)" + ok_input + "]}", Image()),
            "request: outputs[0].name: expected the output of model 'image' ('output'), got "
            "'probs'");
}

TEST(InferRequest, NonFiniteBinaryFloatsAreRefused) {
  const std::string header =
      R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","parameters":{"binary_data_size":16}}]})";
  float values[4] = {0.0f, 1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f};
  std::string body = header;
  body.append(reinterpret_cast<const char*>(values), sizeof values);
  EXPECT_EQ(ErrorOf(body, Image(), header.size()),
            "request: inputs[0]: expected finite FP32 values, got element 2 is nan");
}

TEST(InferRequest, HostileJsonIsBoundedByTheModelsInputs) {
  EXPECT_EQ(ErrorOf(std::string(100, '[') + std::string(100, ']'), Image()),
            "request: expected JSON nested at most 16 deep");
  std::string many = R"({"inputs":[{"name":"input","shape":[1,2,2],"datatype":"FP32","data":[0)";
  for (int i = 0; i < 5000; ++i)
    many += ",0";
  EXPECT_EQ(ErrorOf(many + "]}]}", Image()),
            "request: expected at most 4100 JSON values for this model's inputs");
}

TEST(InferRequest, JsonLengthHeaderMustBeAByteCountWithinTheBody) {
  EXPECT_EQ(ParseJsonLength("12", 20), 12u);
  for (const char* bad : {"", "-1", "12a", "21", "99999999999999999999"}) {
    try {
      ParseJsonLength(bad, 20);
      ADD_FAILURE() << bad;
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.status(), 400);
    }
  }
}

TEST(InferResponse, CarriesOutputsAndTheServingFacts) {
  Result result;
  result.completed = true;
  result.outputs = {Tensor::Of<float>({1, 3}, {0.5f, -1.0f, 2.0f})};
  result.stitched = "dense,int8";
  result.placement = {"cpu0", "cpu1"};
  result.queue_ms = 0.25;
  result.compute_ms = 1.5;
  result.slo_met = true;
  InferRequest request;
  request.id = "r7";
  const EncodedResponse json_response = EncodeInferResponse(Image(), request, result);
  EXPECT_FALSE(json_response.json_length);
  const json doc = json::parse(json_response.body);
  EXPECT_EQ(doc["id"], "r7");
  EXPECT_EQ(doc["model_name"], "image");
  EXPECT_EQ(doc["outputs"][0]["name"], "output");
  EXPECT_EQ(doc["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(doc["outputs"][0]["shape"], json::array({1, 3}));
  EXPECT_EQ(doc["outputs"][0]["data"][2], 2.0);
  EXPECT_EQ(doc["parameters"]["sparseloom_stitched"], "dense,int8");
  EXPECT_EQ(doc["parameters"]["sparseloom_placement"], "cpu0,cpu1");
  EXPECT_EQ(doc["parameters"]["sparseloom_queue_us"], 250);
  EXPECT_EQ(doc["parameters"]["sparseloom_compute_us"], 1500);
  EXPECT_EQ(doc["parameters"]["sparseloom_slo_met"], true);

  request.binary_output = true;
  const EncodedResponse binary = EncodeInferResponse(Image(), request, result);
  ASSERT_TRUE(binary.json_length);
  const json head = json::parse(binary.body.substr(0, *binary.json_length));
  EXPECT_EQ(head["outputs"][0]["parameters"]["binary_data_size"], 12);
  ASSERT_EQ(binary.body.size(), *binary.json_length + 12);
  float back[3];
  std::memcpy(back, binary.body.data() + *binary.json_length, sizeof back);
  EXPECT_EQ(back[1], -1.0f);
}

TEST(Metadata, ShapesHaveMinusOneForTheBatch) {
  const json doc = json::parse(ModelMetadata(Text()));
  EXPECT_EQ(doc["name"], "text");
  EXPECT_EQ(doc["inputs"][1]["name"], "mask");
  EXPECT_EQ(doc["inputs"][1]["datatype"], "BOOL");
  EXPECT_EQ(doc["inputs"][1]["shape"], json::array({-1, 4}));
  EXPECT_EQ(doc["outputs"][0]["shape"], json::array({-1, 2}));
  EXPECT_EQ(json::parse(ServerMetadata({"binary_tensor_data"}))["extensions"][0],
            "binary_tensor_data");
}

TEST(Metrics, CountsEveryAnswerOnceByReason) {
  ServerCounters counters;
  Result ok;
  ok.completed = true;
  ok.latency_ms = 2.0;
  ok.slo_miss = "late";
  Result refused;
  refused.slo_miss = "rejected";
  Result failed;
  failed.slo_miss = "failed";
  counters.Answered("image", ok);
  counters.Answered("image", refused);
  counters.Answered("image", failed);
  counters.Invalid("image");
  const auto snapshot = counters.Snapshot();
  const ModelCounters& c = snapshot.at("image");
  EXPECT_EQ(c.success, 1);
  EXPECT_EQ(c.rejected, 1);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.invalid, 1);
  EXPECT_EQ(c.late, 1);
  const std::string text = PrometheusText(snapshot, Stats{}, {});
  EXPECT_NE(text.find("nv_inference_request_success{model=\"image\",version=\"1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("nv_inference_request_failure{model=\"image\",version=\"1\",reason="
                      "\"REJECTED\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("nv_inference_request_duration_us{model=\"image\",version=\"1\"} 2000\n"),
            std::string::npos);
  EXPECT_NE(text.find("sparseloom_slo_violations_total{model=\"image\",cause=\"late\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace sparseloom::serve
