// The audit log's signing keys, checkpoints and cosignatures (issue 14), as migration 0016 holds
// them (src/vouch/store/README.md, "Audit checkpoints"). Plain rows: signing, sealing and which
// key signs are the service's (service/checkpoints.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vouch/util/time.h"

namespace vouch::store {

// One Ed25519 key of the log. The oldest key not retired signs the checkpoints; a newer one not
// retired waits for the checkpoint that covers its rotation. Only `retired_ms` ever changes, once.
struct AuditSigningKey {
  int64_t id = 0;
  std::string name;          // the log's origin
  std::string key_id;        // 8 lowercase hex digits: the note key id
  std::string verifier_key;  // <name>+<hex id>+<base64(0x01 || public key)>
  std::string public_key;    // standard base64 of the 32-byte key
  std::string seed_nonce;    // base64url: the seed sealed under the master key
  std::string seed_sealed;   // base64url ciphertext with its tag
  TimeMs created_ms = 0;
  std::optional<TimeMs> retired_ms;
};

// One signed checkpoint, one per tree size. Append-only.
struct AuditCheckpointRow {
  int64_t id = 0;
  int64_t size = 0;
  std::string root;    // standard base64 of the 32-byte root
  std::string note;    // the signed note as signed
  int64_t key_id = 0;  // the AuditSigningKey row that signed it
  TimeMs created_ms = 0;
};

// A witness's cosignature of a checkpoint. One per (checkpoint, witness, key id); append-only.
struct AuditCosignatureRow {
  int64_t checkpoint_id = 0;
  std::string witness;  // the witness key's name
  std::string key_id;   // 8 lowercase hex digits
  std::string line;     // the signature line as the witness returned it, without its newline
  TimeMs received_ms = 0;
};

}  // namespace vouch::store
