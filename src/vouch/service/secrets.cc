#include "vouch/service/secrets.h"

#include <fmt/format.h>

#include <cctype>

#include "vouch/audit/actions.h"
#include "vouch/service/events.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

std::optional<std::string> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace

Result<std::string> ParseMasterKey(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::optional<std::string> key;
  if (text.size() == 2 * kSealKeyBytes) key = HexDecode(text);
  if (!key) {
    std::string url(text);
    while (!url.empty() && url.back() == '=') url.pop_back();
    for (char& c : url) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    key = Base64UrlDecode(url);
  }
  if (!key || key->size() != kSealKeyBytes) {
    return InvalidArgument(
        "the master key must be 32 bytes written as base64 or as 64 hex digits (make one with "
        "`openssl rand -base64 32`)");
  }
  return *key;
}

std::string NewMasterKeyText() { return Base64UrlEncode(RandomBytes(kSealKeyBytes)); }

Result<std::string> Secrets::Open(const store::SealedSecret& sealed) const {
  auto nonce = Base64UrlDecode(sealed.nonce);
  auto ciphertext = Base64UrlDecode(sealed.ciphertext);
  Result<std::string> plain = PermissionDenied("malformed");
  if (nonce && ciphertext) plain = Unseal(master_key_, {*nonce, *ciphertext}, sealed.name);
  if (!plain.ok()) {
    return FailedPrecondition(fmt::format(
        "the master key does not open the secret '{}' in {}: this is not the master key the "
        "store was set up with (give every server the same --master-key-file or "
        "VOUCH_MASTER_KEY), or the stored secret was altered",
        sealed.name, store_.Describe()));
  }
  return plain;
}

Result<std::string> Secrets::GetOrCreate(std::string_view name,
                                         const std::function<std::string()>& make) {
  std::optional<store::SealedSecret> found;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(found, tx.FindSecret(name));
    return OkStatus();
  }));
  if (found) return Open(*found);

  std::string value = make();
  RequestContext ctx = SystemContext(clock_);
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    TimeMs now = ctx.Now();
    SealedBox box = Seal(master_key_, value, name);
    store::SealedSecret sealed{std::string(name), Base64UrlEncode(box.nonce),
                               Base64UrlEncode(box.ciphertext), now};
    VOUCH_ASSIGN_OR_RETURN(bool inserted, tx.InsertSecret(sealed));
    if (!inserted) {
      VOUCH_ASSIGN_OR_RETURN(found, tx.FindSecret(name));
      return change.Unchanged();  // another server stored it first
    }
    found.reset();
    AuditEvent e = NewEvent(ctx, audit::Action::kSecretCreated);
    e.target = {{"type", "secret"}, {"name", std::string(name)}};
    e.before = nullptr;
    e.after = {{"name", std::string(name)}, {"sealed_with", "xchacha20poly1305"}};
    return change.Record(std::move(e));
  }));
  if (found) return Open(*found);
  return value;
}

}  // namespace vouch::service
