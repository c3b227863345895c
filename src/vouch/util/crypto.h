// Thin wrappers over OpenSSL and libsodium.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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
// Constant-time equality of two byte strings (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// HMAC-SHA256(key, data), raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace vouch
