#include "vouch/notify/formats.h"

namespace vouch::notify {

Status AddBuiltinFormats(FormatRegistry& registry) {
  VOUCH_TRY(registry.Add(NewVouchFormat()));
  VOUCH_TRY(registry.Add(NewCloudEventsFormat()));
  VOUCH_TRY(registry.Add(NewSlackFormat()));
  VOUCH_TRY(registry.Add(NewMlflowFormat()));
  return OkStatus();
}

}  // namespace vouch::notify
