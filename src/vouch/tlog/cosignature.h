// C2SP tlog-cosignature, Ed25519 (signature type 0x04): a witness's timestamped cosignature of a
// checkpoint. The signed message is "cosignature/v1\ntime <unix seconds>\n" followed by the
// checkpoint's note text; the signature line's bytes are the key id, the timestamp (big-endian
// uint64) and the Ed25519 signature. A cosignature is an ordinary signature line of the note, which
// Open (note.h) keeps among the unverified ones; VerifyCosignatures checks them. Pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/tlog/note.h"
#include "vouch/util/status.h"

namespace vouch::tlog {

inline constexpr uint8_t kAlgCosignatureV1 = 0x04;

// SHA-256(name || 0x0A || 0x04 || public key)[:4], big-endian.
uint32_t CosignatureKeyId(std::string_view name, std::string_view public_key);

// A witness key: the same Ed25519 key pair as a note signer, with the cosignature key id.
struct Cosigner {
  std::string name;
  uint32_t key_id = 0;
  std::string seed;  // 32 bytes
};
struct CosignatureVerifier {
  std::string name;
  uint32_t key_id = 0;
  std::string public_key;  // 32 bytes
};

// The witness key of a signer's key pair (the key id recomputed for type 0x04).
Cosigner CosignerOf(const Signer& signer);
CosignatureVerifier CosignatureVerifierOf(const Cosigner& cosigner);
// `<name>+<hex id>+<base64(0x04 || public key)>`, as transparency-dev/formats reads it.
std::string FormatCosignatureVerifierKey(const CosignatureVerifier& v);
// INVALID_ARGUMENT unless `text` is such a key with the right id.
Result<CosignatureVerifier> ParseCosignatureVerifierKey(std::string_view text);

// The note with the cosigner's signature line, made at `timestamp` (Unix seconds), appended.
// INVALID_ARGUMENT when `note` is not a signed note (Open's form) or its text is not a checkpoint
// of at least three lines.
Result<std::string> Cosign(std::string_view note, const Cosigner& cosigner, uint64_t timestamp);

struct VerifiedCosignature {
  std::string name;
  uint32_t key_id = 0;
  uint64_t timestamp = 0;
};
// Checks the note's signatures that are by these witnesses (by name and cosignature key id).
// PERMISSION_DENIED when one does not verify; the others (the log's, unknown witnesses') are
// ignored. Returns the verified ones, each witness once.
Result<std::vector<VerifiedCosignature>> VerifyCosignatures(
    const OpenedNote& note, std::span<const CosignatureVerifier> witnesses);

}  // namespace vouch::tlog
