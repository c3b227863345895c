// The native door's error renderer and its DoorSpec (door.h).
#pragma once

#include "vouch/api/door.h"

namespace vouch::api::native {

// The native error body: {"error":{"code","message","request_id"}} with the native column's HTTP
// status (error_table.h); a 401 carries `WWW-Authenticate: Bearer realm="vouch"`.
HttpResponse NativeError(const Status& status, const RequestContext& ctx);

// The native door: every path no other door recognises (the empty prefix), errors by NativeError,
// credentials in the Authorization header (Bearer tokens, Basic passwords).
DoorSpec NativeDoor();

}  // namespace vouch::api::native
