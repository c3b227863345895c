// C2SP tlog-proof: an offline-verifiable proof that an entry is in a log — the first line
// `c2sp.org/tlog-proof@v1`, an optional `extra <base64>` line, `index <n>`, the inclusion proof's
// hashes in base64 one a line (leaf side first), a blank line, then the signed checkpoint verbatim
// (with any cosignatures). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/util/status.h"

namespace vouch::tlog {

inline constexpr std::string_view kProofFileHeader = "c2sp.org/tlog-proof@v1";

struct ProofFile {
  std::optional<std::string> extra;  // opaque and unauthenticated
  uint64_t index = 0;                // zero-based: an audit event's seq - 1
  std::vector<Hash> proof;
  std::string checkpoint;  // the signed note, verbatim
  friend bool operator==(const ProofFile&, const ProofFile&) = default;
};

std::string FormatProofFile(const ProofFile& p);
// INVALID_ARGUMENT unless `text` has the form above (the checkpoint is kept as it stands; opening
// it is VerifyProofFile's part).
Result<ProofFile> ParseProofFile(std::string_view text);

// Checks a proof file against the entry's bytes: opens the checkpoint with `verifiers` (codes as
// OpenCheckpoint, origin checked when given), then VerifyInclusion of LeafHash(entry) at the
// file's index in the checkpoint's tree (INVALID_ARGUMENT or PERMISSION_DENIED as it says).
// Returns the opened checkpoint.
Result<OpenedCheckpoint> VerifyProofFile(const ProofFile& p, std::string_view entry,
                                         std::span<const Verifier> verifiers,
                                         std::string_view origin = {});

}  // namespace vouch::tlog
