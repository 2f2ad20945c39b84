#pragma once
// The Open Inference Protocol (KServe v2) as SparseLoom speaks it over HTTP (docs/serving.md):
// inference requests in JSON or with the binary tensor data extension, their responses, and the
// metadata documents. Pure functions of bytes and the public API's types, so that the request
// parsers are fuzzed and tested with no server, no model and no socket.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "sparseloom/runtime.h"

namespace sparseloom::serve {

// An HTTP answer that is an error: its status and the `{"error": ...}` message.
class ProtocolError : public Error {
 public:
  ProtocolError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The protocol's name of a tensor datatype ("FP32", "BF16", "INT64", "INT32", "BOOL").
std::string DatatypeName(DType dtype);

struct InferRequest {
  std::optional<std::string> id;  // echoed in the response
  std::vector<Tensor> inputs;     // in TaskInfo::inputs' order, batch 1
  SubmitOptions submit;           // priority, timeout and the request's own accuracy bound
  bool binary_output = false;     // the output goes back as binary data
};

// Parses the body of `POST /v2/models/{model}/infer` for `model`. `json_length` is the
// Inference-Header-Content-Length header when there is one: the body is then that many bytes of
// JSON followed by the binary tensor data. Every mistake is a ProtocolError 400 naming the field
// (e.g. "request: inputs[0].shape: expected [1,1,28,28] (batch 1), got [2,1,28,28]").
InferRequest ParseInferRequest(std::string_view body, std::optional<std::size_t> json_length,
                               const TaskInfo& model);

// Parses an Inference-Header-Content-Length header value (ProtocolError 400 when it is not a
// byte count within `body_size`).
std::size_t ParseJsonLength(std::string_view header, std::size_t body_size);

struct EncodedResponse {
  std::string body;
  std::optional<std::size_t> json_length;  // set when binary data follows the JSON
  std::string content_type;
};

// The response to a completed request: the output tensor (binary when asked for) and, in
// `parameters`, the stitched variant, placement, queue / hand-over / compute / load microseconds
// and whether the SLO was met.
EncodedResponse EncodeInferResponse(const TaskInfo& model, const InferRequest& request,
                                    const Result& result);

// The status a result that did not complete is answered with: 503 when it was refused at once
// (admission full, no route, a deadline or accuracy the plan cannot meet), 500 when it failed.
int StatusOf(const Result& result);

std::string ErrorBody(const std::string& message);                       // {"error": message}
std::string ModelMetadata(const TaskInfo& model);                        // GET /v2/models/{model}
std::string ServerMetadata(const std::vector<std::string>& extensions);  // GET /v2

}  // namespace sparseloom::serve
