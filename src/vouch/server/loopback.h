// Whether `vouch serve` listens only on this machine: then clear-text HTTP is not on any network.
// Inline, so the unit tests (which do not link the listener library) can test it.
#pragma once

#include <optional>
#include <string_view>

#include "vouch/util/net.h"

namespace vouch::server {

// True for "localhost" (any case), 127.0.0.0/8, ::1 and ::ffff:127.x.y.z; false for everything
// else, wildcards (0.0.0.0, ::) and names that are not addresses included.
inline bool IsLoopbackHost(std::string_view host) {
  constexpr std::string_view kLocalhost = "localhost";
  if (host.size() == kLocalhost.size()) {
    bool same = true;
    for (size_t i = 0; i < host.size(); ++i) {
      char c = host[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = same && c == kLocalhost[i];
    }
    if (same) return true;
  }
  std::optional<IpBytes> ip = ParseIp(host);
  if (!ip) return false;
  // ParseIp gives IPv4 as ::ffff:a.b.c.d; 127.0.0.0/8 is 96 + 8 bits of that form.
  static const CidrRange kLoopbackV4{
      .base = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 0}, .prefix_bits = 104};
  static const CidrRange kLoopbackV6{.base = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                                     .prefix_bits = 128};
  return kLoopbackV4.Contains(*ip) || kLoopbackV6.Contains(*ip);
}

}  // namespace vouch::server
