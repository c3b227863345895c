// Helpers shared by the files of RegistryService (registry*.cc); not for other users.
#pragma once

#include <cstdint>

#include "vouch/domain/model.h"
#include "vouch/util/status.h"

namespace vouch::service::registry_internal {

// Each key and value as ValidateTagKey / ValidateTagValue want them.
Status ValidateTags(const StringMap& tags);
// INVALID_ARGUMENT unless `version` is positive.
Status ValidateVersionNumber(int64_t version);

}  // namespace vouch::service::registry_internal
