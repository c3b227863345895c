#include "vouch/notify/webhook_signature.h"

#include <fmt/format.h>
#include <array>

#include "vouch/util/crypto.h"

namespace vouch::notify {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kSecretPrefix = "whsec_";

constexpr std::array<int, 256> DecodeTable() {
  std::array<int, 256> t{};
  for (int& v : t) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}
constexpr std::array<int, 256> kDecode = DecodeTable();

}  // namespace

std::string StandardWebhooksKey(std::string_view secret) {
  if (secret.starts_with(kSecretPrefix)) {
    std::optional<std::string> key = Base64DecodeLoose(secret.substr(kSecretPrefix.size()));
    if (key && !key->empty()) return *std::move(key);
  }
  return std::string(secret);
}

std::string SignV1(std::string_view key, std::string_view id, std::string_view timestamp,
                   std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return "v1," + Base64Encode(HmacSha256(key, content));
}

std::string UnixSecondsText(TimeMs now_ms) {
  // Floor, as the Standard Webhooks libraries take a time's seconds (a time before 1970 never
  // reaches here, but stays consistent).
  TimeMs seconds = now_ms / 1000;
  if (now_ms < 0 && now_ms % 1000 != 0) --seconds;
  return fmt::format("{}", seconds);
}

void AddStandardWebhooksHeaders(const Envelope& envelope, std::string_view body,
                                net::HeaderList& headers) {
  const std::string timestamp = UnixSecondsText(envelope.now_ms);
  headers.emplace_back("webhook-id", envelope.delivery_id);
  headers.emplace_back("webhook-timestamp", timestamp);
  if (!envelope.secret.empty()) {
    headers.emplace_back("webhook-signature", SignV1(StandardWebhooksKey(envelope.secret),
                                                     envelope.delivery_id, timestamp, body));
  }
}

}  // namespace vouch::notify
