#include "vouch/notify/formats.h"

namespace vouch::notify {

Status AddBuiltinFormats(FormatRegistry& registry) {
  VOUCH_TRY(registry.Add(NewVouchFormat()));
  return OkStatus();
}

}  // namespace vouch::notify
