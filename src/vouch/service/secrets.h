// The keys and secrets every server needs, kept in the store sealed under the master key, so that
// nothing lives only in one server's data directory: servers sharing a PostgreSQL database are
// given the same master key (--master-key-file or VOUCH_MASTER_KEY) and read the same secrets.
//
// Each secret is sealed with XChaCha20-Poly1305 with its name as associated data. Creating one is
// audited (secret.created, with the name only). Thread-safe (immutable after construction).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "vouch/service/executor.h"
#include "vouch/store/store.h"
#include "vouch/util/time.h"

namespace vouch::service {

// Reads a master key: 32 bytes written as base64 (standard or URL-safe alphabet, padding optional)
// or as 64 hex digits; surrounding white space is ignored. INVALID_ARGUMENT otherwise (the message
// never repeats the text).
Result<std::string> ParseMasterKey(std::string_view text);
// A new random master key in the text form ParseMasterKey reads (base64url).
std::string NewMasterKeyText();

// Secret names in use.
inline constexpr std::string_view kPageTokenKeySecret = "page-token-key";

class Secrets {
 public:
  // `master_key` is 32 raw bytes (ParseMasterKey).
  Secrets(store::Store& store, const Clock& clock, std::string master_key)
      : store_(store), executor_(store), clock_(clock), master_key_(std::move(master_key)) {}

  // The secret `name`; when the store has none, `make()` is sealed, stored and returned (if another
  // server stored one first, that one is returned). FAILED_PRECONDITION when the stored secret does
  // not open with this master key (the wrong key, or altered bytes); UNAVAILABLE from the store.
  Result<std::string> GetOrCreate(std::string_view name, const std::function<std::string()>& make);

 private:
  Result<std::string> Open(const store::SealedSecret& sealed) const;

  store::Store& store_;
  MutationExecutor executor_;
  const Clock& clock_;
  const std::string master_key_;
};

}  // namespace vouch::service
