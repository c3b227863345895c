#include "vouch/notify/destination.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <optional>
#include <string>

#include "vouch/net/address_guard.h"
#include "vouch/util/net.h"
#include "vouch/util/text.h"

namespace vouch::notify {
namespace {

constexpr std::string_view kAllowPrivate = "--webhook-allow-private";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// A name whose last label is a number, or that has a label in hex ("0x7f"): inet_aton and friends
// read "2130706433", "127.1" and "0x7f.0.0.1" as addresses, so such a name is never a plain name.
bool LooksNumeric(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  const size_t dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (AllDigits(last)) return true;
  size_t start = 0;
  while (start <= host.size()) {
    const size_t end = std::min(host.find('.', start), host.size());
    const std::string_view label = host.substr(start, end - start);
    if (label.size() > 2 && (label.starts_with("0x") || label.starts_with("0X")) &&
        label.substr(2).find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

Status Refuse(std::string message) { return InvalidArgument("url: " + std::move(message)); }

}  // namespace

Status CheckDestination(std::string_view url, bool allow_private) {
  if (url.empty()) return Refuse("required");
  if (url.size() > kMaxDestinationUrlBytes) {
    return Refuse(fmt::format("longer than {} bytes", kMaxDestinationUrlBytes));
  }
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Refuse(fmt::format("\"{}\" is not an absolute URL", SanitizeUtf8(url, 200)));
  }
  const boost::urls::url_view& u = *parsed;
  const std::string scheme = Lower(u.scheme());
  if (scheme != "https" && scheme != "http") {
    return Refuse(fmt::format("the scheme must be https, not {}", SanitizeUtf8(scheme, 40)));
  }
  const bool plain_http = scheme == "http";
  if (plain_http && !allow_private) {
    return Refuse(fmt::format(
        "must use https://; plain http:// is accepted only for private receivers, with {}",
        kAllowPrivate));
  }
  if (!u.has_authority() || u.encoded_host().empty()) return Refuse("has no host");
  if (u.has_userinfo()) return Refuse("must not hold a user name or password");
  if (u.has_fragment()) return Refuse("must not hold a fragment (#…), which is never sent");
  if (u.has_port()) {
    const std::string_view port = u.port();
    int number = 0;
    const bool numeric = AllDigits(port) && port.size() <= 5;
    if (numeric) number = std::stoi(std::string(port));
    if (!numeric || number < 1 || number > 65535) {
      return Refuse(fmt::format("the port must be 1-65535, not \"{}\"", SanitizeUtf8(port, 40)));
    }
  }

  std::optional<IpBytes> literal;
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      literal = ParseIp(std::string(u.encoded_host_address()));
      if (!literal) return Refuse("the host's address cannot be read");
      break;
    case boost::urls::host_type::name:
      break;
    default:
      return Refuse("the host must be a name, an IPv4 address or an IPv6 address");
  }

  if (literal) {
    if (std::optional<std::string> range = net::NonPublicRange(*literal)) {
      if (!allow_private) {
        return Refuse(fmt::format("{} is {}; private receivers are allowed only with {}",
                                  net::FormatIp(*literal), *range, kAllowPrivate));
      }
    } else if (plain_http) {
      return Refuse(fmt::format("{} is a public address, and a public receiver needs https://",
                                net::FormatIp(*literal)));
    }
    return OkStatus();
  }

  std::string host = Lower(u.host_name());
  if (LooksNumeric(host)) {
    return Refuse(fmt::format(
        "the host \"{}\" looks like an address in an unusual form; write an IPv4 address as "
        "a.b.c.d",
        SanitizeUtf8(host, 100)));
  }
  if (host.ends_with('.')) host.pop_back();
  if ((host == "localhost" || host.ends_with(".localhost")) && !allow_private) {
    return Refuse(fmt::format("{} is loopback; private receivers are allowed only with {}",
                              SanitizeUtf8(host, 100), kAllowPrivate));
  }
  return OkStatus();
}

}  // namespace vouch::notify
