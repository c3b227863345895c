// Signatures of webhook deliveries: the Standard Webhooks scheme (vouch's and the CloudEvents
// format's `webhook-id`, `webhook-timestamp`, `webhook-signature` headers) and MLflow's (the same
// construction under X-MLflow-* names, keyed by the secret's UTF-8 bytes). Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vouch/net/http_client.h"
#include "vouch/notify/format.h"

namespace vouch::notify {

// The HMAC key of a Standard Webhooks signature: a secret written `whsec_<base64>` signs with the
// decoded bytes (as the spec and its libraries read it); any other secret, including a `whsec_`
// one whose rest is not base64, signs with its own UTF-8 bytes (the bytes MLflow's scheme uses).
std::string StandardWebhooksKey(std::string_view secret);

// "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")): the signature both schemes send.
std::string SignV1(std::string_view key, std::string_view id, std::string_view timestamp,
                   std::string_view body);

// Unix seconds of `now_ms`, as the timestamp headers carry it.
std::string UnixSecondsText(TimeMs now_ms);

// Appends webhook-id (the delivery id), webhook-timestamp (the attempt's Unix seconds) and, when
// the envelope has a secret, webhook-signature over `body`.
void AddStandardWebhooksHeaders(const Envelope& envelope, std::string_view body,
                                net::HeaderList& headers);

}  // namespace vouch::notify
