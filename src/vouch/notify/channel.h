// Channels: how a rendered delivery reaches its receiver — an HTTP POST to the subscription's URL
// (through the private-address guard), or mail through SMTP. Delivery calls a channel once per
// attempt and records what it returns in the ledger; whether to retry is delivery's decision.
#pragma once

#include <optional>
#include <string>

#include "vouch/notify/format.h"
#include "vouch/store/webhook_rows.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::notify {

// What one attempt came to. A transport failure (no answer: refused, reset, timed out, a private
// address refused by the guard) is an outcome too, with `status` empty and `error` set.
struct AttemptOutcome {
  std::optional<int> status;  // the HTTP status, or the SMTP reply code
  TimeMs latency_ms = 0;
  std::string response;  // the first bytes of the answer's body (at most 1 KiB)
  std::string error;     // why there was no answer, or what the answer refused
  // The receiver asked to wait this long before the next attempt (Retry-After on 429 and 503).
  std::optional<TimeMs> retry_after_ms;
  // No later attempt can succeed (the guard refused the address, the URL is unusable): the
  // delivery is dead-lettered at once rather than retried.
  bool permanent = false;
  // Nothing was sent, and nothing is to be sent for this event (the e-mail channel found nobody
  // to mail): the delivery is recorded as skipped, with `error` as the reason. Set with
  // `permanent`, so that it is never retried.
  bool skipped = false;
};

class Channel {
 public:
  virtual ~Channel() = default;
  // Sends one attempt of one delivery for `webhook`. Never fails: every failure is an outcome.
  virtual AttemptOutcome Send(const store::WebhookRecord& webhook, const Envelope& envelope,
                              const Format& format) = 0;
};

}  // namespace vouch::notify
