// The client address recorded for a request. Behind a load balancer the TCP peer is the proxy;
// the client is named in `Forwarded` (RFC 7239) or `X-Forwarded-For`, which anyone can send, so
// those headers are believed only when the peer is a trusted proxy (--trusted-proxies).
#pragma once

#include <string>
#include <vector>

#include "vouch/api/http.h"
#include "vouch/util/net.h"

namespace vouch::api {

// The peer, unless it is in `trusted`: then the forwarded chain (Forwarded when the request has
// one, else X-Forwarded-For) is read from the nearest hop outwards, skipping trusted proxies, and
// the first address that is not one is the client. A hop that is not an address ("unknown", an
// obfuscated name) ends the walk and is returned as it is (sanitized, at most 64 bytes).
std::string ClientAddress(const HttpRequest& request, const std::vector<CidrRange>& trusted);

}  // namespace vouch::api
