// Which IP addresses count as public: the private-address guard's judgement, made on the address a
// connection is about to be opened to (http_client.h, ClientOptions::allow_private_addresses) and
// on a literal address in a webhook's URL (notify/destination.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/net.h"

namespace vouch::net {

// The non-public range `ip` falls in, named for a message ("loopback (127.0.0.0/8)"), or nullopt
// when it is a public unicast address. Non-public: unspecified and "this network" (0.0.0.0/8, ::),
// loopback (127/8, ::1), private (RFC 1918; RFC 4193 fc00::/7), link-local (169.254/16,
// fe80::/10), shared CGNAT space (100.64/10), IETF protocol assignments (192.0.0/24),
// documentation and benchmarking ranges, multicast, broadcast and the reserved 240/4, deprecated
// site-local (fec0::/10), the deprecated IPv4-compatible ::/96, discard-only (100::/64), Teredo
// (2001::/32), the local-use NAT64 prefix. An IPv6 address that reaches an IPv4 one (IPv4-mapped
// ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by the IPv4 address inside.
std::optional<std::string> NonPublicRange(const IpBytes& ip);

// "192.0.2.1", "2001:db8::1" (an IPv4-mapped address is shown in its IPv4 form).
std::string FormatIp(const IpBytes& ip);

}  // namespace vouch::net
