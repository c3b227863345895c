// C2SP tlog-checkpoint: the note text `<origin>\n<size>\n<base64 root>\n[extension lines]`, signed
// and opened as a signed note (note.h). Pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/util/status.h"

namespace vouch::tlog {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // opaque, each non-empty
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// The note text. INVALID_ARGUMENT when the origin or an extension line is empty or holds a newline.
Result<std::string> FormatCheckpoint(const Checkpoint& c);
// Parses a checkpoint's note text (with its final newline). INVALID_ARGUMENT unless it is at least
// three lines, each ending in a newline and non-empty: an origin, a decimal size without leading
// zeros, the standard base64 of a 32-byte root, then extension lines.
Result<Checkpoint> ParseCheckpoint(std::string_view text);

// The checkpoint signed by `signers` as a signed note (INVALID_ARGUMENT as FormatCheckpoint and
// Sign).
Result<std::string> SignCheckpoint(const Checkpoint& c, std::span<const Signer> signers);

struct OpenedCheckpoint {
  Checkpoint checkpoint;
  OpenedNote note;
};
// Opens a signed checkpoint: Open(note, verifiers), then ParseCheckpoint of its text; then, when
// `origin` is not empty, FAILED_PRECONDITION unless the checkpoint's origin is `origin`. Codes as
// Open and ParseCheckpoint otherwise.
Result<OpenedCheckpoint> OpenCheckpoint(std::string_view note, std::span<const Verifier> verifiers,
                                        std::string_view origin = {});

}  // namespace vouch::tlog
