#include "vouch/tlog/cosignature.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>

#include "vouch/util/crypto.h"

namespace vouch::tlog {
namespace {

constexpr size_t kTimestampBytes = 8;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string SignedMessage(uint64_t timestamp, std::string_view text) {
  return fmt::format("cosignature/v1\ntime {}\n{}", timestamp, text);
}

uint32_t BigEndian32(std::string_view b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

}  // namespace

uint32_t CosignatureKeyId(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kAlgCosignatureV1));
  input.append(public_key);
  return BigEndian32(Sha256Raw(input));
}

Cosigner CosignerOf(const Signer& signer) {
  return Cosigner{signer.name, CosignatureKeyId(signer.name, Ed25519PublicKey(signer.seed)),
                  signer.seed};
}

CosignatureVerifier CosignatureVerifierOf(const Cosigner& cosigner) {
  return CosignatureVerifier{cosigner.name, cosigner.key_id, Ed25519PublicKey(cosigner.seed)};
}

std::string FormatCosignatureVerifierKey(const CosignatureVerifier& v) {
  std::string key(1, static_cast<char>(kAlgCosignatureV1));
  key += v.public_key;
  return fmt::format("{}+{:08x}+{}", v.name, v.key_id, Base64Encode(key));
}

Result<CosignatureVerifier> ParseCosignatureVerifierKey(std::string_view text) {
  auto bad = [](std::string_view why) {
    return InvalidArgument(fmt::format("malformed cosignature verifier key: {}", why));
  };
  const size_t plus1 = text.find('+');
  const size_t plus2 = plus1 == std::string_view::npos ? plus1 : text.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) return bad("not <name>+<id>+<key>");
  CosignatureVerifier v;
  v.name = std::string(text.substr(0, plus1));
  if (!IsValidKeyName(v.name)) return bad("the name is empty or holds a space or \"+\"");
  const std::string_view hex = text.substr(plus1 + 1, plus2 - plus1 - 1);
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), v.key_id, 16);
  if (hex.size() != 8 || ec != std::errc() || end != hex.data() + hex.size()) {
    return bad("the key id is not 8 hex digits");
  }
  std::optional<std::string> key = Base64Decode(text.substr(plus2 + 1));
  if (!key || key->size() != 1 + crypto_sign_PUBLICKEYBYTES ||
      static_cast<uint8_t>((*key)[0]) != kAlgCosignatureV1) {
    return bad("the key is not 0x04 and a 32-byte Ed25519 key");
  }
  v.public_key = key->substr(1);
  if (v.key_id != CosignatureKeyId(v.name, v.public_key)) {
    return bad("the key id does not match the name and key");
  }
  return v;
}

Result<std::string> Cosign(std::string_view note, const Cosigner& cosigner, uint64_t timestamp) {
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.back() != '\n') {
    return InvalidArgument("not a signed note");
  }
  const std::string_view text = note.substr(0, split + 1);
  if (std::count(text.begin(), text.end(), '\n') < 3) {
    return InvalidArgument("a cosigned note's text is a checkpoint: at least three lines");
  }
  if (!IsValidKeyName(cosigner.name) || cosigner.seed.size() != crypto_sign_SEEDBYTES) {
    return InvalidArgument(fmt::format("cosigner \"{}\": a bad name or seed", cosigner.name));
  }
  InitSodium();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(cosigner.seed.data()));
  const std::string message = SignedMessage(timestamp, text);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), sk);
  sodium_memzero(sk, sizeof sk);
  std::string blob;
  for (int shift = 24; shift >= 0; shift -= 8) {
    blob.push_back(static_cast<char>(cosigner.key_id >> shift));
  }
  for (int shift = 56; shift >= 0; shift -= 8)
    blob.push_back(static_cast<char>(timestamp >> shift));
  blob.append(reinterpret_cast<char*>(sig), sizeof sig);
  return fmt::format("{}{}{} {}\n", note, kNoteSignaturePrefix, cosigner.name, Base64Encode(blob));
}

Result<std::vector<VerifiedCosignature>> VerifyCosignatures(
    const OpenedNote& note, std::span<const CosignatureVerifier> witnesses) {
  std::vector<VerifiedCosignature> out;
  std::set<std::pair<std::string, uint32_t>> seen;
  InitSodium();
  for (const std::vector<NoteSignature>* list : {&note.unverified, &note.verified}) {
    for (const NoteSignature& s : *list) {
      auto w = std::find_if(witnesses.begin(), witnesses.end(), [&](const CosignatureVerifier& v) {
        return v.name == s.name && v.key_id == s.key_id;
      });
      if (w == witnesses.end() || !seen.insert({s.name, s.key_id}).second) continue;
      std::optional<std::string> blob = Base64Decode(s.base64);
      const auto denied = [&] {
        return PermissionDenied(
            fmt::format("the cosignature by {}+{:08x} does not verify", s.name, s.key_id));
      };
      if (!blob || blob->size() != 4 + kTimestampBytes + crypto_sign_BYTES) return denied();
      uint64_t timestamp = 0;
      for (size_t i = 0; i < kTimestampBytes; ++i) {
        timestamp = (timestamp << 8) | static_cast<uint8_t>((*blob)[4 + i]);
      }
      const std::string message = SignedMessage(timestamp, note.text);
      if (crypto_sign_verify_detached(
              reinterpret_cast<const unsigned char*>(blob->data() + 4 + kTimestampBytes),
              reinterpret_cast<const unsigned char*>(message.data()), message.size(),
              reinterpret_cast<const unsigned char*>(w->public_key.data())) != 0) {
        return denied();
      }
      out.push_back({s.name, s.key_id, timestamp});
    }
  }
  return out;
}

}  // namespace vouch::tlog
