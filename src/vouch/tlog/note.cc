#include "vouch/tlog/note.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>
#include <utility>

#include "vouch/util/crypto.h"

namespace vouch::tlog {
namespace {

constexpr std::string_view kSignerPrefix = "PRIVATE+KEY+";

void InitSodium() {
  // Thread-safe and idempotent; fails only when the system has no entropy source.
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

// Decodes one UTF-8 code point at the front of `s`; nullopt when it is not well-formed (overlong
// forms, surrogates and values past U+10FFFF included).
std::optional<char32_t> DecodeRune(std::string_view s, size_t& size) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  if (s.empty()) return std::nullopt;
  const uint8_t c = b(0);
  if (c < 0x80) {
    size = 1;
    return c;
  }
  int n = 0;
  char32_t r = 0;
  char32_t min = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 2, r = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, r = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, r = c & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (s.size() < static_cast<size_t>(n)) return std::nullopt;
  for (int i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return std::nullopt;
    r = (r << 6) | (b(i) & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return std::nullopt;
  size = static_cast<size_t>(n);
  return r;
}

// Go's unicode.IsSpace.
bool IsUnicodeSpace(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200a;
  }
}

// Valid UTF-8 with no ASCII control character but newline.
bool IsNoteText(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t size = 0;
    std::optional<char32_t> r = DecodeRune(s.substr(i), size);
    if (!r || (*r < 0x20 && *r != '\n')) return false;
    i += size;
  }
  return true;
}

}  // namespace

std::string Ed25519PublicKey(std::string_view seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) std::abort();
  InitSodium();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(seed.data()));
  sodium_memzero(sk, sizeof sk);
  return std::string(reinterpret_cast<char*>(pk), sizeof pk);
}

namespace {

struct KeyText {
  std::string name;
  uint32_t key_id = 0;
  std::string key;  // after the algorithm byte
};

// `<name>+<hex id>+<base64(0x01 || key)>`, the key `key_bytes` long.
Result<KeyText> ParseKeyText(std::string_view text, size_t key_bytes, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("malformed {} key: {}", what, why));
  };
  // Names hold no "+" and hex none, but base64 may: split at the first two.
  const size_t plus1 = text.find('+');
  if (plus1 == std::string_view::npos) return bad("no \"+\"");
  const size_t plus2 = text.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) return bad("not <name>+<id>+<key>");
  KeyText k;
  k.name = std::string(text.substr(0, plus1));
  if (!IsValidKeyName(k.name)) return bad("the name is empty or holds a space or \"+\"");
  const std::string_view hex = text.substr(plus1 + 1, plus2 - plus1 - 1);
  if (hex.size() != 8) return bad("the key id is not 8 hex digits");
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), k.key_id, 16);
  if (ec != std::errc() || end != hex.data() + hex.size()) return bad("the key id is not hex");
  std::optional<std::string> key = Base64Decode(text.substr(plus2 + 1));
  if (!key) return bad("the key is not base64");
  if (key->empty() || static_cast<uint8_t>((*key)[0]) != kAlgEd25519) {
    return bad("the algorithm is not Ed25519 (0x01)");
  }
  if (key->size() != key_bytes + 1) return bad("an Ed25519 key is 32 bytes");
  k.key = key->substr(1);
  return k;
}

}  // namespace

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size();) {
    size_t size = 0;
    std::optional<char32_t> r = DecodeRune(name.substr(i), size);
    if (!r || *r == '+' || IsUnicodeSpace(*r)) return false;
    i += size;
  }
  return true;
}

uint32_t Ed25519KeyId(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kAlgEd25519));
  input.append(public_key);
  const std::string h = Sha256Raw(input);
  return (uint32_t{static_cast<uint8_t>(h[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(h[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(h[2])} << 8) | uint32_t{static_cast<uint8_t>(h[3])};
}

std::string FormatVerifierKey(const Verifier& v) {
  std::string key(1, static_cast<char>(kAlgEd25519));
  key += v.public_key;
  return fmt::format("{}+{:08x}+{}", v.name, v.key_id, Base64Encode(key));
}

std::string FormatSignerKey(const Signer& s) {
  std::string key(1, static_cast<char>(kAlgEd25519));
  key += s.seed;
  return fmt::format("{}{}+{:08x}+{}", kSignerPrefix, s.name, s.key_id, Base64Encode(key));
}

Result<Verifier> ParseVerifierKey(std::string_view text) {
  VOUCH_ASSIGN_OR_RETURN(KeyText k, ParseKeyText(text, crypto_sign_PUBLICKEYBYTES, "verifier"));
  if (k.key_id != Ed25519KeyId(k.name, k.key)) {
    return InvalidArgument("malformed verifier key: the key id does not match the name and key");
  }
  return Verifier{std::move(k.name), k.key_id, std::move(k.key)};
}

Result<Signer> ParseSignerKey(std::string_view text) {
  if (!text.starts_with(kSignerPrefix)) {
    return InvalidArgument("malformed signer key: it does not start with PRIVATE+KEY+");
  }
  text.remove_prefix(kSignerPrefix.size());
  VOUCH_ASSIGN_OR_RETURN(KeyText k, ParseKeyText(text, crypto_sign_SEEDBYTES, "signer"));
  if (k.key_id != Ed25519KeyId(k.name, Ed25519PublicKey(k.key))) {
    return InvalidArgument("malformed signer key: the key id does not match the name and key");
  }
  return Signer{std::move(k.name), k.key_id, std::move(k.key)};
}

Verifier VerifierOf(const Signer& signer) {
  return Verifier{signer.name, signer.key_id, Ed25519PublicKey(signer.seed)};
}

Result<Signer> GenerateSigner(std::string_view name) {
  if (!IsValidKeyName(name)) {
    return InvalidArgument(
        fmt::format("\"{}\" is not a key name: empty, or holds a space or \"+\"", name));
  }
  InitSodium();
  Signer s;
  s.name = std::string(name);
  s.seed = std::string(crypto_sign_SEEDBYTES, '\0');
  randombytes_buf(s.seed.data(), s.seed.size());
  s.key_id = Ed25519KeyId(s.name, Ed25519PublicKey(s.seed));
  return s;
}

Result<std::string> Sign(std::string_view text, std::span<const Signer> signers) {
  if (text.empty() || text.back() != '\n') {
    return InvalidArgument("a note's text must end in a newline");
  }
  if (!IsNoteText(text)) {
    return InvalidArgument(
        "a note's text must be UTF-8 without control characters other than newline");
  }
  InitSodium();
  std::string out(text);
  out.push_back('\n');
  for (const Signer& s : signers) {
    if (!IsValidKeyName(s.name) || s.seed.size() != crypto_sign_SEEDBYTES) {
      return InvalidArgument(fmt::format("signer \"{}\": a bad name or seed", s.name));
    }
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(s.seed.data()));
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(text.data()),
                         text.size(), sk);
    sodium_memzero(sk, sizeof sk);
    std::string blob = {static_cast<char>(s.key_id >> 24), static_cast<char>(s.key_id >> 16),
                        static_cast<char>(s.key_id >> 8), static_cast<char>(s.key_id)};
    blob.append(reinterpret_cast<char*>(sig), sizeof sig);
    out += fmt::format("{}{} {}\n", kNoteSignaturePrefix, s.name, Base64Encode(blob));
  }
  return out;
}

Result<OpenedNote> Open(std::string_view note, std::span<const Verifier> verifiers) {
  auto malformed = [](std::string_view why) {
    return InvalidArgument(fmt::format("malformed note: {}", why));
  };
  if (!IsNoteText(note)) {
    return malformed("not UTF-8, or a control character other than newline");
  }
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return malformed("no blank line before the signatures");
  OpenedNote opened;
  opened.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') {
    return malformed("the signatures do not end in a newline");
  }
  std::set<std::pair<std::string, uint32_t>> seen;
  std::set<std::string> seen_unverified;
  int count = 0;
  while (!sigs.empty()) {
    const size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (!line.starts_with(kNoteSignaturePrefix)) return malformed("a line that is not a signature");
    line.remove_prefix(kNoteSignaturePrefix.size());
    const size_t space = line.find(' ');
    const std::string_view name = line.substr(0, space);
    const std::string_view b64 =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    std::optional<std::string> blob = Base64Decode(b64);
    if (!IsValidKeyName(name) || b64.empty() || !blob || blob->size() < 5) {
      return malformed("a signature line with a bad name or base64");
    }
    if (++count > kMaxNoteSignatures) {
      return malformed(fmt::format("more than {} signatures", kMaxNoteSignatures));
    }
    const auto byte = [&](int i) { return uint32_t{static_cast<uint8_t>((*blob)[i])}; };
    const uint32_t key_id = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
    NoteSignature sig{std::string(name), key_id, std::string(b64)};
    auto known = std::find_if(verifiers.begin(), verifiers.end(), [&](const Verifier& v) {
      return v.name == name && v.key_id == key_id;
    });
    if (known == verifiers.end()) {
      if (seen_unverified.insert(std::string(line)).second) {
        opened.unverified.push_back(std::move(sig));
      }
      continue;
    }
    if (!seen.insert({sig.name, key_id}).second) continue;
    InitSodium();
    const std::string_view raw = std::string_view(*blob).substr(4);
    if (raw.size() != crypto_sign_BYTES || known->public_key.size() != crypto_sign_PUBLICKEYBYTES ||
        crypto_sign_verify_detached(
            reinterpret_cast<const unsigned char*>(raw.data()),
            reinterpret_cast<const unsigned char*>(opened.text.data()), opened.text.size(),
            reinterpret_cast<const unsigned char*>(known->public_key.data())) != 0) {
      return PermissionDenied(
          fmt::format("the signature by {}+{:08x} does not verify", sig.name, key_id));
    }
    opened.verified.push_back(std::move(sig));
  }
  if (opened.verified.empty()) {
    return Unauthenticated("the note is signed by no known key");
  }
  return opened;
}

}  // namespace vouch::tlog
