// What every mode of `audit verify` that runs the verification engine (a store, an export
// directory, a server: audit_proof_commands.cc) shares, in audit_export_command.cc: the trusted
// keys, the saved checkpoints, the report's printing; and the export directory mode.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/audit/verify.h"
#include "vouch/cli/session.h"
#include "vouch/storage/open.h"
#include "vouch/store/store.h"
#include "vouch/tlog/note.h"
#include "vouch/util/status.h"

namespace vouch::cli {

// `--store URI` or `--data-dir DIR` (the SQLite file DIR/vouch.db): exactly one of them, as audit
// verify, audit export, backup and migrate take them (admin_commands.cc).
Result<store::StoreLocation> StoreFrom(const std::string& uri, const std::string& data_dir);

// Prints `r` for the source `what` ("ok: N events, Merkle root …" or each finding, one a line,
// then a failure on stderr; JSON with -o json) and returns 0 when intact, 1 when not.
int PrintVerification(const audit::VerificationReport& r, std::string_view what, Session& s);

// The keys --key names, in every mode of `audit verify`: each a verifier key text or a file of
// them, one a line (blank lines and '#' comments skipped). INVALID_ARGUMENT naming the first that
// is neither, a file line that is not a key, or a file that holds none.
Result<std::vector<tlog::Verifier>> TrustedKeys(const std::vector<std::string>& given);

// --checkpoint SAVED: every signed note in the file, each a checkpoint the log must hold (give
// each to LogVerifier::SetSavedCheckpoint). Empty when `saved` is; INVALID_ARGUMENT when the file
// cannot be read.
Result<std::vector<audit::CheckpointSource>> SavedCheckpoints(const std::string& saved);

// `vouch audit verify DIR`: the export directory DIR, offline. Exit 0 intact, 1 not, 2 usage
// (DIR is not an export, a --key is not a key, SAVED cannot be read).
int VerifyExportDirectory(const std::string& dir, const std::vector<std::string>& key_texts,
                          const std::string& saved, bool check_canonical, Session& s);

// `vouch audit verify --data-dir|--store`: the log in `store` (opened read-only), its stored tree
// and checkpoints, through the engine. `acked`: the head a running server acknowledged (SQLite's
// head file), when known: a log shorter than it lost committed events. `chain_digest`: also print
// the hash-chain digest of versions before the Merkle log. Exit 0 intact, 1 not, 2 usage.
int VerifyStoreWithEngine(store::Store& store, const std::string& what,
                          std::optional<int64_t> acked, const std::vector<std::string>& key_texts,
                          const std::string& saved, bool check_canonical, bool chain_digest,
                          Session& s);

}  // namespace vouch::cli
