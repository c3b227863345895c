// The check made on a webhook's URL when a subscription is created or its URL changed, before
// anything is stored. It judges the URL's text only: a host NAME is not resolved here (what it
// resolves to can change after the check, and DNS rebinding would make such a check worthless);
// the connect-time guard judges the address actually connected to, at every attempt
// (net/http_client.h, ClientOptions::allow_private_addresses). A literal IP address in the URL is
// judged here as well, so a plainly private receiver is refused at once rather than at delivery.
#pragma once

#include <string_view>

#include "vouch/util/status.h"

namespace vouch::notify {

// The longest URL a subscription may hold, in bytes.
inline constexpr size_t kMaxDestinationUrlBytes = 2048;

// OK when `url` can be a webhook receiver's address:
// - an absolute URL (RFC 3986) of at most kMaxDestinationUrlBytes, with a host, no user name or
//   password, a port (if given) of 1-65535 and no fragment;
// - https://; plain http:// only when `allow_private` (--webhook-allow-private), and then not to a
//   literal public address (public receivers need https);
// - a literal address that is not public (net::NonPublicRange: loopback, private, link-local, …),
//   or the name localhost (or a name under .localhost), only when `allow_private`;
// - no host that looks numeric but is not a dotted-quad or bracketed IPv6 address ("2130706433",
//   "0x7f.1"), which resolvers read as addresses in surprising ways.
// INVALID_ARGUMENT otherwise, with a message starting "url: " that says what is wrong.
Status CheckDestination(std::string_view url, bool allow_private);

}  // namespace vouch::notify
