// The checkpoint file (--checkpoint-file): every checkpoint this server makes, appended as its
// signed note, notes separated by a blank line. Kept outside the data directory, it survives an
// older copy of the whole database being put in place, which the checkpoints inside the database
// cannot reveal: at start, a log that does not hold the file's last checkpoint is refused
// (CheckpointService::CheckSaved).
//
// A signed note holds a blank line itself (before its signatures), so the file reads as
// paragraphs: a note is a paragraph of text lines followed by a paragraph of signature lines
// ("— name base64"). Not thread-safe: one writer (the listener on the server that makes them).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch::app {

// The last note in the file's text. nullopt for an empty text; INVALID_ARGUMENT when the text does
// not end in a note (a torn last write, or not a checkpoint file).
Result<std::optional<std::string>> LastCheckpointNote(std::string_view text);

// The last note in the file; nullopt when the file is missing or empty. UNAVAILABLE when it cannot
// be read; INVALID_ARGUMENT as LastCheckpointNote, naming the file.
Result<std::optional<std::string>> ReadLastCheckpointNote(const std::filesystem::path& path);

// Appends `note` (ending in a newline) after a blank line (none before the first), and fsyncs.
// UNAVAILABLE when the file cannot be opened or written.
Status AppendCheckpointNote(const std::filesystem::path& path, std::string_view note);

// INVALID_ARGUMENT when `file` is inside `data_dir` (both resolved as far as they exist), where a
// copy of the data directory would carry it along.
Status CheckCheckpointFileOutside(const std::filesystem::path& file,
                                  const std::filesystem::path& data_dir);

}  // namespace vouch::app
