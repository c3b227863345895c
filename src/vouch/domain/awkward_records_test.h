// Test data only: a table of awkward models and versions, for tests that compare two ways of
// writing the same records (api/mlflow and api/native's JSON against the Boost.JSON trees they
// replaced). Every string, number, stage and empty-or-not field turns up across kAwkwardCases.
#pragma once

#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "vouch/domain/model.h"

namespace vouch::testing_records {

// Strings that take every branch of the escaping: printable ASCII, quotes and backslashes, each
// named escape, the other control characters (and DEL, which is not one), two-, three- and
// four-byte UTF-8, U+2028 (legal in JSON as it is), invalid UTF-8 (a lone continuation byte, a
// truncated sequence, an overlong form, a surrogate), an embedded NUL, and the empty string.
inline const std::vector<std::string>& AwkwardStrings() {
  static const std::vector<std::string> kStrings = {
      "plain",
      "",
      "say \"hi\"",
      "back\\slash\\",
      "\b\f\n\r\t",
      std::string("nul\0byte", 8),
      "\x01\x02\x1e\x1f",
      "del\x7f",
      "caf\xc3\xa9",
      "\xe6\x97\xa5\xe6\x9c\xac",
      "\xf0\x9f\x98\x80 emoji",
      "line\xe2\x80\xa8sep",
      "lone \x80 continuation",
      "truncated \xe2\x82",
      "overlong \xc0\xaf",
      "surrogate \xed\xa0\x80",
      "\xff\xfe",
      "</script><!-- & ' -->",
      std::string(300, 'x') + "\"",
  };
  return kStrings;
}

inline const std::string& Pick(size_t i) { return AwkwardStrings()[i % AwkwardStrings().size()]; }

inline constexpr Stage kStages[] = {Stage::kNone, Stage::kStaging, Stage::kProduction,
                                    Stage::kArchived};

inline constexpr int64_t kNumbers[] = {0,
                                       1,
                                       -1,
                                       1'700'000'000'000,
                                       -86'400'000,
                                       (int64_t{1} << 53) + 1,
                                       std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min()};

inline const double kDoubles[] = {0.0,      -0.0,
                                  0.93,     1.0,
                                  -2.5,     1e21,
                                  1e-7,     123456789012345680000.0,
                                  5e-324,   std::numeric_limits<double>::max(),
                                  0.1 + 0.2};

inline ModelVersion AwkwardVersion(size_t i) {
  ModelVersion v;
  v.model_name = Pick(i);
  v.version = kNumbers[i % std::size(kNumbers)];
  v.source = Pick(i + 1);
  v.run_id = Pick(i + 2);
  v.run_link = Pick(i + 3);
  v.description = Pick(i + 4);
  v.status = i % 3 == 0 ? "READY" : Pick(i + 5);
  v.stage = kStages[i % std::size(kStages)];
  v.created_ms = kNumbers[(i + 1) % std::size(kNumbers)];
  v.updated_ms = kNumbers[(i + 2) % std::size(kNumbers)];
  if (i % 2 == 0) v.created_by = Pick(i + 6);
  if (i % 3 != 1) v.model_ref = Pick(i + 7);
  if (i % 4 != 2) v.artifact_digest = "sha256:" + Pick(i + 8);
  for (size_t k = 0; k < i % 4; ++k) {  // 0 to 3 of each
    v.tags[Pick(i + k)] = Pick(i + k + 9);
    v.params[Pick(i + k + 1)] = Pick(i + k + 10);
    v.metrics[Pick(i + k + 2)] = kDoubles[(i + k) % std::size(kDoubles)];
    v.aliases.push_back(Pick(i + k + 3));
  }
  return v;
}

inline Model AwkwardModel(size_t i) {
  Model m;
  m.name = Pick(i);
  m.description = i % 3 == 0 ? "" : Pick(i + 1);
  m.created_ms = kNumbers[i % std::size(kNumbers)];
  m.updated_ms = kNumbers[(i + 3) % std::size(kNumbers)];
  if (i % 2 == 1) m.created_by = Pick(i + 2);
  if (i % 3 != 0) m.latest_live_version = kNumbers[(i + 5) % std::size(kNumbers)];
  for (size_t k = 0; k < i % 4; ++k) {
    m.tags[Pick(i + k + 3)] = Pick(i + k + 4);
    m.aliases[Pick(i + k + 5)] = kNumbers[(i + k) % std::size(kNumbers)];
    m.latest_versions.push_back(AwkwardVersion(i + k));
  }
  return m;
}

// Several times round every list above.
inline constexpr size_t kAwkwardCases = 64;

}  // namespace vouch::testing_records
