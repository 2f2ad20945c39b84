#include "serve/inference_protocol.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/json_reader.h"

namespace sparseloom::serve {
namespace {

using nlohmann::json;

// Bounds on the JSON of one request, checked while it is parsed, so that a hostile body costs
// memory in proportion to what the model takes, not to its own nesting or length.
constexpr int kMaxDepth = 16;
constexpr std::size_t kValuesBeyondInputs = 4096;  // ids, parameters, shapes, names

[[noreturn]] void Bad(const std::string& field, const std::string& expected,
                      const std::string& got = {}) {
  throw ProtocolError(400, InputError("request", field, expected, got).what());
}

std::string ShapeText(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out.append(i ? "," : "").append(std::to_string(shape[i]));
  return out + "]";
}

std::int64_t ElementsOf(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape)
    n *= d;
  return n;
}

json ParseBounded(std::string_view text, std::size_t max_values) {
  std::size_t values = 0;
  const json::parser_callback_t bound = [&](int depth, json::parse_event_t event, json&) {
    if (depth > kMaxDepth)
      Bad("", "JSON nested at most " + std::to_string(kMaxDepth) + " deep");
    if (event == json::parse_event_t::value && ++values > max_values)
      Bad("", "at most " + std::to_string(max_values) + " JSON values for this model's inputs");
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), bound);
  } catch (const json::exception& e) {  // a syntax error, or a number beyond a double
    std::string what = e.what();        // "[json.exception.parse_error.101] parse error at ..."
    if (const std::size_t cut = what.find("] "); cut != std::string::npos)
      what = what.substr(cut + 2);
    Bad("", "a JSON object", what);
  }
}

// A buffer whose start suits any element type, for the bytes of one input.
std::shared_ptr<std::byte[]> Aligned(std::size_t bytes) {
  return std::shared_ptr<std::byte[]>(
      new (std::align_val_t{64}) std::byte[bytes ? bytes : 1],
      [](std::byte* p) { operator delete[](p, std::align_val_t{64}); });
}

// Checks that binary values are what their datatype allows (finite floats, 0/1 booleans).
void CheckBinaryValues(const std::string& field, DType dtype, const std::byte* data,
                       std::size_t bytes) {
  if (dtype == DType::kFloat32) {
    for (std::size_t i = 0; i < bytes / 4; ++i) {
      float v;
      std::memcpy(&v, data + 4 * i, 4);
      if (!std::isfinite(v))
        Bad(field, "finite FP32 values",
            "element " + std::to_string(i) + " is " + std::to_string(v));
    }
  } else if (dtype == DType::kBFloat16) {
    for (std::size_t i = 0; i < bytes / 2; ++i) {
      std::uint16_t v;
      std::memcpy(&v, data + 2 * i, 2);
      if ((v & 0x7f80u) == 0x7f80u)
        Bad(field, "finite BF16 values", "element " + std::to_string(i) + " is not finite");
    }
  } else if (dtype == DType::kBool) {
    for (std::size_t i = 0; i < bytes; ++i) {
      if (std::to_integer<unsigned>(data[i]) > 1)
        Bad(field, "BOOL bytes of 0 or 1",
            "element " + std::to_string(i) + " is " +
                std::to_string(std::to_integer<unsigned>(data[i])));
    }
  }
}

void Flatten(const json& value, std::vector<const json*>& out) {
  if (!value.is_array()) {
    out.push_back(&value);
    return;
  }
  for (const json& v : value)
    Flatten(v, out);  // depth bounded by kMaxDepth
}

// The values of `data` (flat or nested as the shape) written as `dtype` into `out`.
void WriteJsonValues(const std::string& field, const json& data, DType dtype, std::int64_t count,
                     std::byte* out) {
  std::vector<const json*> flat;
  if (!data.is_array())
    Bad(field, "an array of values");
  Flatten(data, flat);
  if (static_cast<std::int64_t>(flat.size()) != count)
    Bad(field, std::to_string(count) + " values (the shape's elements)",
        std::to_string(flat.size()));
  for (std::size_t i = 0; i < flat.size(); ++i) {
    const json& v = *flat[i];
    const std::string at = field + "[" + std::to_string(i) + "]";
    switch (dtype) {
      case DType::kFloat32: {
        const double d = v.is_number() ? v.get<double>() : std::nan("");
        if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
          Bad(at, "a finite FP32 number", v.dump());
        const float f = static_cast<float>(d);
        std::memcpy(out + 4 * i, &f, 4);
        break;
      }
      case DType::kInt64:
      case DType::kInt32: {
        if (!v.is_number_integer() ||
            (v.is_number_unsigned() &&
             v.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())))
          Bad(at, "an integer", v.dump());
        const std::int64_t n = v.get<std::int64_t>();
        if (dtype == DType::kInt64) {
          std::memcpy(out + 8 * i, &n, 8);
        } else {
          if (n < std::numeric_limits<std::int32_t>::min() ||
              n > std::numeric_limits<std::int32_t>::max())
            Bad(at, "an INT32 integer", v.dump());
          const auto n32 = static_cast<std::int32_t>(n);
          std::memcpy(out + 4 * i, &n32, 4);
        }
        break;
      }
      case DType::kBool:
        if (!v.is_boolean())
          Bad(at, "true or false", v.dump());
        out[i] = std::byte{static_cast<unsigned char>(v.get<bool>() ? 1 : 0)};
        break;
      case DType::kBFloat16:
        Bad(field, "BF16 values as binary data (binary_data_size); JSON has no BF16 numbers");
    }
  }
}

struct ParsedInput {
  std::size_t model_index = 0;
  std::vector<std::int64_t> shape;
  DType dtype = DType::kFloat32;
  std::optional<std::size_t> binary_size;
  const json* data = nullptr;
  std::string field;
};

ParsedInput ParseInput(const JsonField& input, const TaskInfo& model,
                       const std::vector<bool>& seen) {
  for (const auto& [key, value] : input.raw().items()) {
    if (key != "name" && key != "shape" && key != "datatype" && key != "parameters" &&
        key != "data")
      Bad(input.path() + "." + key, "one of name, shape, datatype, parameters, data",
          "an unknown field");
  }
  ParsedInput p;
  p.field = input.path();
  const std::string name = input.At("name").String();
  std::size_t i = 0;
  while (i < model.inputs.size() && model.inputs[i].name != name)
    ++i;
  if (i == model.inputs.size()) {
    std::string names;
    for (const TensorInfo& t : model.inputs)
      names += (names.empty() ? "'" : ", '") + t.name + "'";
    Bad(input.path() + ".name", "an input of model '" + model.name + "' (" + names + ")",
        "'" + name + "'");
  }
  if (seen[i])
    Bad(input.path() + ".name", "each input once", "'" + name + "' again");
  p.model_index = i;
  const TensorInfo& spec = model.inputs[i];
  p.dtype = spec.dtype;
  const std::string datatype = input.At("datatype").String();
  if (datatype != DatatypeName(spec.dtype))
    Bad(input.path() + ".datatype", DatatypeName(spec.dtype) + " (input '" + name + "')", datatype);
  p.shape = input.At("shape").IntArray();
  std::vector<std::int64_t> want = spec.shape;
  if (!want.empty())
    want[0] = 1;
  if (p.shape != want)
    Bad(input.path() + ".shape", ShapeText(want) + " (input '" + name + "', batch 1)",
        ShapeText(p.shape));
  if (input.Has("parameters") && input.At("parameters").Has("binary_data_size"))
    p.binary_size =
        static_cast<std::size_t>(input.At("parameters").At("binary_data_size").NonNegativeInt());
  if (p.binary_size && input.Has("data"))
    Bad(input.path() + ".data", "no data when binary_data_size is given");
  if (!p.binary_size)
    p.data = &input.At("data").raw();
  return p;
}

void ParseParameters(const JsonField& parameters, InferRequest& request) {
  if (!parameters.raw().is_object())
    parameters.Fail("an object");
  // Triton's priority: 1 is the highest level, larger is lower, 0 the default (behind any
  // request that names a level). SparseLoom's: higher runs first.
  if (parameters.Has("priority")) {
    const std::int64_t level = parameters.At("priority").NonNegativeInt();
    request.submit.priority = level == 0
                                  ? std::numeric_limits<int>::min()
                                  : -static_cast<int>(std::min<std::int64_t>(level, 1 << 30));
  }
  double timeout_ms = 0.0;
  if (parameters.Has("timeout"))  // microseconds, as Triton's
    timeout_ms = static_cast<double>(parameters.At("timeout").NonNegativeInt()) / 1000.0;
  if (parameters.Has("sparseloom_max_latency_ms")) {
    const double ms = parameters.At("sparseloom_max_latency_ms").Number();
    if (!(ms > 0.0))
      Bad(parameters.path() + ".sparseloom_max_latency_ms", "a number of ms > 0",
          std::to_string(ms));
    timeout_ms = timeout_ms > 0.0 ? std::min(timeout_ms, ms) : ms;
  }
  request.submit.timeout_ms = timeout_ms;
  if (parameters.Has("sparseloom_min_accuracy")) {
    const double a = parameters.At("sparseloom_min_accuracy").Number();
    if (a < 0.0 || a > 1.0)
      Bad(parameters.path() + ".sparseloom_min_accuracy", "a fraction in [0, 1]",
          std::to_string(a));
    request.submit.min_accuracy = a;
  }
  if (parameters.Has("binary_data_output"))
    request.binary_output = parameters.At("binary_data_output").Bool();
}

void ParseOutputs(const JsonField& outputs, const TaskInfo& model, InferRequest& request) {
  for (std::size_t i = 0; i < outputs.Size(); ++i) {
    const JsonField out = outputs.At(i);
    const std::string name = out.At("name").String();
    if (name != model.output.name)
      Bad(out.path() + ".name",
          "the output of model '" + model.name + "' ('" + model.output.name + "')",
          "'" + name + "'");
    if (out.Has("parameters") && out.At("parameters").Has("binary_data"))
      request.binary_output = out.At("parameters").At("binary_data").Bool();
  }
}

}  // namespace

std::string DatatypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "FP32";
    case DType::kBFloat16:
      return "BF16";
    case DType::kInt64:
      return "INT64";
    case DType::kInt32:
      return "INT32";
    case DType::kBool:
      return "BOOL";
  }
  return "?";
}

std::size_t ParseJsonLength(std::string_view header, std::size_t body_size) {
  std::size_t n = 0;
  bool digits = !header.empty() && header.size() <= 12;
  for (char c : header) {
    digits = digits && c >= '0' && c <= '9';
    if (digits)
      n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (!digits || n > body_size)
    throw ProtocolError(400,
                        "Inference-Header-Content-Length: expected a byte count within the "
                        "body's " +
                            std::to_string(body_size) + " bytes, got '" + std::string(header) +
                            "'");
  return n;
}

InferRequest ParseInferRequest(std::string_view body, std::optional<std::size_t> json_length,
                               const TaskInfo& model) {
  const std::string_view text = json_length ? body.substr(0, *json_length) : body;
  const std::string_view binary = json_length ? body.substr(*json_length) : std::string_view{};
  std::size_t input_elements = 0;
  for (const TensorInfo& t : model.inputs) {
    std::vector<std::int64_t> one = t.shape;
    if (!one.empty())
      one[0] = 1;
    input_elements += static_cast<std::size_t>(ElementsOf(one));
  }
  const json document = ParseBounded(text, input_elements + kValuesBeyondInputs);
  InferRequest request;
  try {
    const JsonField root(std::make_shared<const std::string>("request"), &document, "");
    if (!document.is_object())
      root.Fail("a JSON object");
    for (const auto& [key, value] : document.items()) {
      if (key != "id" && key != "parameters" && key != "inputs" && key != "outputs")
        Bad(key, "one of id, parameters, inputs, outputs", "an unknown field");
    }
    if (root.Has("id"))
      request.id = root.At("id").String();
    if (root.Has("parameters"))
      ParseParameters(root.At("parameters"), request);
    if (root.Has("outputs"))
      ParseOutputs(root.At("outputs"), model, request);
    const JsonField inputs = root.At("inputs");
    if (inputs.Size() != model.inputs.size())
      inputs.Fail(std::to_string(model.inputs.size()) + " input(s)", std::to_string(inputs.Size()));
    std::vector<bool> seen(model.inputs.size(), false);
    std::vector<ParsedInput> parsed;
    for (std::size_t i = 0; i < inputs.Size(); ++i) {
      parsed.push_back(ParseInput(inputs.At(i), model, seen));
      seen[parsed.back().model_index] = true;
    }
    // The binary data of the inputs that have it follows the JSON in the inputs' order.
    std::size_t offset = 0;
    request.inputs.resize(model.inputs.size());
    for (ParsedInput& p : parsed) {
      const std::size_t bytes =
          static_cast<std::size_t>(ElementsOf(p.shape)) * ElementBytes(p.dtype);
      std::shared_ptr<std::byte[]> buffer = Aligned(bytes);
      if (p.binary_size) {
        const std::string field = p.field + ".parameters.binary_data_size";
        if (*p.binary_size != bytes)
          Bad(field,
              std::to_string(bytes) + " bytes (" + ShapeText(p.shape) + " " +
                  DatatypeName(p.dtype) + ")",
              std::to_string(*p.binary_size));
        if (!json_length)
          Bad(field, "an Inference-Header-Content-Length header with binary data");
        if (binary.size() - offset < bytes)
          Bad(field, std::to_string(bytes) + " bytes of binary data after the JSON",
              std::to_string(binary.size() - offset) + " left in the body");
        std::memcpy(buffer.get(), binary.data() + offset, bytes);
        offset += bytes;
        CheckBinaryValues(p.field, p.dtype, buffer.get(), bytes);
      } else {
        WriteJsonValues(p.field + ".data", *p.data, p.dtype, ElementsOf(p.shape), buffer.get());
      }
      const std::byte* data = buffer.get();
      request.inputs[p.model_index] =
          Tensor::View(p.dtype, p.shape, std::shared_ptr<const void>(buffer, data), data, bytes);
    }
    if (offset != binary.size())
      Bad("binary data",
          std::to_string(offset) +
              " bytes after the JSON (the inputs' "
              "binary_data_size)",
          std::to_string(binary.size()));
  } catch (const InputError& e) {
    throw ProtocolError(400, e.what());
  }
  return request;
}

EncodedResponse EncodeInferResponse(const TaskInfo& model, const InferRequest& request,
                                    const Result& result) {
  json response;
  response["model_name"] = model.name;
  response["model_version"] = "1";
  if (request.id)
    response["id"] = *request.id;
  std::string placement;
  for (const std::string& p : result.placement)
    placement += (placement.empty() ? "" : ",") + p;
  const auto us = [](double ms) { return static_cast<std::int64_t>(std::llround(ms * 1000.0)); };
  response["parameters"] = {{"sparseloom_stitched", result.stitched},
                            {"sparseloom_placement", placement},
                            {"sparseloom_queue_us", us(result.queue_ms)},
                            {"sparseloom_handover_us", us(result.handover_ms)},
                            {"sparseloom_compute_us", us(result.compute_ms)},
                            {"sparseloom_load_us", us(result.load_ms)},
                            {"sparseloom_latency_us", us(result.latency_ms)},
                            {"sparseloom_slo_met", result.slo_met}};
  if (!result.slo_miss.empty())
    response["parameters"]["sparseloom_slo_miss"] = result.slo_miss;
  EncodedResponse encoded;
  std::string binary;
  json outputs = json::array();
  for (const Tensor& t : result.outputs) {
    json out = {
        {"name", model.output.name}, {"datatype", DatatypeName(t.dtype())}, {"shape", t.shape()}};
    if (request.binary_output) {
      out["parameters"] = {{"binary_data_size", t.bytes().size()}};
      binary.append(reinterpret_cast<const char*>(t.bytes().data()), t.bytes().size());
    } else if (t.dtype() == DType::kFloat32) {
      out["data"] = std::vector<float>(t.values<float>().begin(), t.values<float>().end());
    } else if (t.dtype() == DType::kInt64) {
      out["data"] = std::vector<std::int64_t>(t.values<std::int64_t>().begin(),
                                              t.values<std::int64_t>().end());
    } else {
      throw ProtocolError(500, "output of datatype " + DatatypeName(t.dtype()) +
                                   ": ask for binary data (binary_data_output)");
    }
    outputs.push_back(std::move(out));
  }
  response["outputs"] = std::move(outputs);
  encoded.body = response.dump();
  if (request.binary_output) {
    encoded.json_length = encoded.body.size();
    encoded.body += binary;
    encoded.content_type = "application/octet-stream";
  } else {
    encoded.content_type = "application/json";
  }
  return encoded;
}

int StatusOf(const Result& result) {
  return result.slo_miss == "rejected" ? 503 : 500;
}

std::string ErrorBody(const std::string& message) {
  return json{{"error", message}}.dump();
}

namespace {

json TensorMetadata(const TensorInfo& t) {
  std::vector<std::int64_t> shape = t.shape;
  if (!shape.empty())
    shape[0] = -1;
  return {{"name", t.name}, {"datatype", DatatypeName(t.dtype)}, {"shape", shape}};
}

}  // namespace

std::string ModelMetadata(const TaskInfo& model) {
  json inputs = json::array();
  for (const TensorInfo& t : model.inputs)
    inputs.push_back(TensorMetadata(t));
  json doc = {{"name", model.name},
              {"versions", {"1"}},
              {"platform", "sparseloom_stitched"},
              {"inputs", inputs},
              {"outputs", {TensorMetadata(model.output)}}};
  // SparseLoom's own, beside the protocol's fields: the plan now serving the model.
  doc["sparseloom"] = {{"zoo", model.zoo.string()},
                       {"min_accuracy", model.slo.min_accuracy},
                       {"max_latency_ms", model.slo.max_latency_ms},
                       {"routed", model.routed},
                       {"stitched", model.stitched},
                       {"placement", model.placement},
                       {"expected_latency_ms", model.expected_latency_ms},
                       {"expected_accuracy", model.expected_accuracy}};
  return doc.dump();
}

std::string ServerMetadata(const std::vector<std::string>& extensions) {
  return json{{"name", "sparseloom"}, {"version", "0.1.0"}, {"extensions", extensions}}.dump();
}

}  // namespace sparseloom::serve
