// Thin wrappers over OpenSSL and libsodium.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Raw 32-byte SHA-256 of `data`.
std::string Sha256Raw(std::string_view data);
// `n` cryptographically random bytes.
std::string RandomBytes(size_t n);
std::string HexEncode(std::string_view bytes);
// base64url without padding.
std::string Base64UrlEncode(std::string_view bytes);
// nullopt when `text` is not base64url.
std::optional<std::string> Base64UrlDecode(std::string_view text);
// Standard base64 (RFC 4648 section 4, the + and / alphabet) with padding.
std::string Base64Encode(std::string_view bytes);
// Standard base64 read strictly: nullopt for a character outside the alphabet (white space
// included), missing or misplaced padding, or a length no encoding has.
std::optional<std::string> Base64Decode(std::string_view text);
// The same with the padding optional (HTTP Basic credentials; Standard Webhooks secrets, as their
// libraries read them).
std::optional<std::string> Base64DecodeLoose(std::string_view text);
// Constant-time equality of two byte strings (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// HMAC-SHA256(key, data), raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

// Authenticated encryption (libsodium's XChaCha20-Poly1305-IETF) under a 32-byte key. The
// associated data is authenticated but not encrypted: it binds the ciphertext to its context.
struct SealedBox {
  std::string nonce;       // 24 random bytes
  std::string ciphertext;  // the plaintext's length plus a 16-byte tag
};
inline constexpr size_t kSealKeyBytes = 32;
// The key must be kSealKeyBytes long (a bug otherwise: aborts).
SealedBox Seal(std::string_view key, std::string_view plaintext, std::string_view associated);
// PERMISSION_DENIED when the key, the associated data or the bytes differ from those sealed.
Result<std::string> Unseal(std::string_view key, const SealedBox& box, std::string_view associated);

}  // namespace vouch
