// IP addresses and CIDR ranges, for deciding which peers are trusted proxies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/status.h"

namespace vouch {

// An IPv4 or IPv6 address as 16 bytes (IPv4 as ::ffff:a.b.c.d, so both forms of one address match).
using IpBytes = std::array<uint8_t, 16>;

// "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"; nullopt for anything else.
std::optional<IpBytes> ParseIp(std::string_view text);

struct CidrRange {
  IpBytes base{};
  int prefix_bits = 128;  // over the 16-byte form: an IPv4 /24 is 96 + 24
  bool Contains(const IpBytes& ip) const;
};

// "10.0.0.0/8,192.168.1.7, fd00::/8": comma-separated ranges; a bare address is a single host.
// INVALID_ARGUMENT naming the bad entry, or a prefix longer than the address.
Result<std::vector<CidrRange>> ParseCidrList(std::string_view text);

}  // namespace vouch
