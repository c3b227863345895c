// Tests only: what a JsonWriter callback writes, as a string, for tests that compare the streamed
// JSON answers with the Boost.JSON trees they replaced (api/mlflow and api/native).
#pragma once

#include <string>

#include "vouch/util/json_writer.h"

namespace vouch {

// The bytes `write` streams into a fresh JsonWriter.
template <typename Write>
std::string Streamed(const Write& write) {
  std::string out;
  JsonWriter w(out);
  write(w);
  return out;
}

}  // namespace vouch
