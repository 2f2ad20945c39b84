// serve::ParseInferRequest on arbitrary bodies, with and without binary data, for a model of one
// FP32 input and for one of INT64 token ids with a BOOL mask; an accepted request's response is
// encoded too. A ProtocolError (a sparseloom::Error) is the expected way to reject a body.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "serve/inference_protocol.h"

namespace {

sparseloom::TaskInfo Model(bool text) {
  sparseloom::TaskInfo t;
  t.name = text ? "text" : "image";
  if (text)
    t.inputs = {{"input", sparseloom::DType::kInt64, {-1, 8}},
                {"mask", sparseloom::DType::kBool, {-1, 8}}};
  else
    t.inputs = {{"input", sparseloom::DType::kFloat32, {-1, 1, 4, 4}}};
  t.output = {"output", sparseloom::DType::kFloat32, {-1, 3}};
  return t;
}

}  // namespace

// The first byte chooses the model and whether the body has binary data; then, with binary data,
// two bytes give the Inference-Header-Content-Length header's digits' value.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3)
    return 0;
  const bool text = data[0] & 1;
  const bool binary = data[0] & 2;
  const std::string header = std::to_string(data[1] | (data[2] << 8));
  const std::string_view body(reinterpret_cast<const char*>(data + 3), size - 3);
  try {
    std::optional<std::size_t> json_length;
    if (binary)
      json_length = sparseloom::serve::ParseJsonLength(header, body.size());
    const sparseloom::TaskInfo model = Model(text);
    const sparseloom::serve::InferRequest request =
        sparseloom::serve::ParseInferRequest(body, json_length, model);
    sparseloom::Result result;
    result.completed = true;
    result.outputs = {sparseloom::Tensor::Of<float>({1, 3}, {0.0f, 1.0f, 2.0f})};
    (void)sparseloom::serve::EncodeInferResponse(model, request, result);
  } catch (const sparseloom::Error&) {
  }
  return 0;
}
