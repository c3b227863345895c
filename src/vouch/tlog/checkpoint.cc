#include "vouch/tlog/checkpoint.h"
#include "vouch/util/crypto.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace vouch::tlog {

Result<std::string> FormatCheckpoint(const Checkpoint& c) {
  auto bad_line = [](std::string_view s) {
    return s.empty() || s.find('\n') != std::string_view::npos;
  };
  if (bad_line(c.origin)) {
    return InvalidArgument("a checkpoint's origin must be one non-empty line");
  }
  std::string out = fmt::format("{}\n{}\n{}\n", c.origin, c.size, Base64Encode(HashBytes(c.root)));
  for (const std::string& e : c.extensions) {
    if (bad_line(e)) return InvalidArgument("a checkpoint's extension lines must be non-empty");
    out += e;
    out.push_back('\n');
  }
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  auto bad = [](std::string_view why) {
    return InvalidArgument(fmt::format("malformed checkpoint: {}", why));
  };
  if (text.empty() || text.back() != '\n') return bad("it does not end in a newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text.substr(0, text.size() - 1);;) {
    const size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return bad("fewer than three lines");
  if (std::any_of(lines.begin(), lines.end(), [](std::string_view l) { return l.empty(); })) {
    return bad("an empty line");
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  const std::string_view size = lines[1];
  if ((size.size() > 1 && size[0] == '0') ||
      !std::all_of(size.begin(), size.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return bad("the size is not a decimal without leading zeros");
  }
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
  if (ec != std::errc() || end != size.data() + size.size()) return bad("the size is too large");
  std::optional<std::string> root = Base64Decode(lines[2]);
  if (!root || root->size() != kHashBytes) return bad("the root is not the base64 of 32 bytes");
  c.root = *HashFromBytes(*root);
  for (size_t i = 3; i < lines.size(); ++i) c.extensions.emplace_back(lines[i]);
  return c;
}

Result<std::string> SignCheckpoint(const Checkpoint& c, std::span<const Signer> signers) {
  VOUCH_ASSIGN_OR_RETURN(std::string text, FormatCheckpoint(c));
  return Sign(text, signers);
}

Result<OpenedCheckpoint> OpenCheckpoint(std::string_view note, std::span<const Verifier> verifiers,
                                        std::string_view origin) {
  VOUCH_ASSIGN_OR_RETURN(OpenedNote opened, Open(note, verifiers));
  VOUCH_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpoint(opened.text));
  if (!origin.empty() && c.origin != origin) {
    return FailedPrecondition(
        fmt::format("the checkpoint is of the log \"{}\", not \"{}\"", c.origin, origin));
  }
  return OpenedCheckpoint{std::move(c), std::move(opened)};
}

}  // namespace vouch::tlog
