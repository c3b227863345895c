// C2SP signed-note with Ed25519 (signature type 0x01), as golang.org/x/mod/sumdb/note reads and
// writes it: key ids, the verifier and signer key texts, signing a text, and opening a note.
//
// A signed note is a text ending in a newline, a blank line, and signature lines
// "— <key name> <base64(4-byte key id || signature)>\n". The text is separated from the signatures
// by the last blank line. Pure: keys come in as values; only key generation draws randomness.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/status.h"

namespace vouch::tlog {

inline constexpr uint8_t kAlgEd25519 = 0x01;
// Go's note.Open refuses a note with more than this many signatures; so do we.
inline constexpr int kMaxNoteSignatures = 100;

// What every signature line starts with: an em dash (U+2014) and a space.
inline constexpr std::string_view kNoteSignaturePrefix = "\xe2\x80\x94 ";

// The RFC 8032 Ed25519 public key (32 bytes) of a 32-byte seed (another length is a bug: aborts,
// as Seal does for a key).
std::string Ed25519PublicKey(std::string_view seed);

// Non-empty, valid UTF-8, no Unicode space and no '+'.
bool IsValidKeyName(std::string_view name);
// The first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x01 || public key).
uint32_t Ed25519KeyId(std::string_view name, std::string_view public_key);

struct Verifier {
  std::string name;
  uint32_t key_id = 0;
  std::string public_key;  // 32 bytes
};
struct Signer {
  std::string name;
  uint32_t key_id = 0;
  std::string seed;  // 32 bytes: the RFC 8032 private key
};

// `<name>+<8 hex digits of the key id>+<base64(0x01 || public key)>`.
std::string FormatVerifierKey(const Verifier& v);
// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`, Go's note.NewSigner form.
std::string FormatSignerKey(const Signer& s);
// INVALID_ARGUMENT when the text is not of that form, names another algorithm, has a bad name,
// a key of the wrong length, or a key id that is not the one the name and key give.
Result<Verifier> ParseVerifierKey(std::string_view text);
Result<Signer> ParseSignerKey(std::string_view text);
// The verifier of a signer (its public key derived from the seed).
Verifier VerifierOf(const Signer& signer);
// A new Ed25519 key named `name` (INVALID_ARGUMENT when the name is not valid).
Result<Signer> GenerateSigner(std::string_view name);

// The note `text` signed by each signer in turn. INVALID_ARGUMENT when the text is empty, does
// not end in a newline, is not valid UTF-8 or holds an ASCII control character other than
// newline, or a signer's name or seed is invalid.
Result<std::string> Sign(std::string_view text, std::span<const Signer> signers);

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string base64;  // as it stood on the line: key id and signature
  friend bool operator==(const NoteSignature&, const NoteSignature&) = default;
};
struct OpenedNote {
  std::string text;                       // with its final newline
  std::vector<NoteSignature> verified;    // by the given verifiers, each once
  std::vector<NoteSignature> unverified;  // by keys not given (witnesses, old keys), each once
};

// Opens a signed note: checks its form, verifies every signature by a key in `verifiers` (matched
// by name and key id) and keeps the others as unverified. INVALID_ARGUMENT when the note is
// malformed (not UTF-8, a control character other than newline, no blank line before the
// signatures, a signature block not ending in a newline, a line that is not a signature, a bad
// key name or base64, a signature under 5 bytes, more than kMaxNoteSignatures signatures);
// PERMISSION_DENIED when a signature by a known key does not verify; UNAUTHENTICATED when no
// signature is by a known key.
Result<OpenedNote> Open(std::string_view note, std::span<const Verifier> verifiers);

}  // namespace vouch::tlog
