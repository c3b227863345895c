#include "vouch/tlog/proof_file.h"
#include "vouch/util/crypto.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace vouch::tlog {

std::string FormatProofFile(const ProofFile& p) {
  std::string out(kProofFileHeader);
  out.push_back('\n');
  if (p.extra) out += fmt::format("extra {}\n", Base64Encode(*p.extra));
  out += fmt::format("index {}\n", p.index);
  for (const Hash& h : p.proof) out += Base64Encode(HashBytes(h)) + "\n";
  out.push_back('\n');
  out += p.checkpoint;
  return out;
}

Result<ProofFile> ParseProofFile(std::string_view text) {
  auto bad = [](std::string_view why) {
    return InvalidArgument(fmt::format("malformed tlog-proof: {}", why));
  };
  // Takes the next line (without its newline); false at the end of the text or of a line cut short.
  auto next_line = [&](std::string_view& line) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    return true;
  };
  std::string_view line;
  if (!next_line(line) || line != kProofFileHeader) {
    return bad(fmt::format("the first line is not {}", kProofFileHeader));
  }
  ProofFile p;
  if (!next_line(line)) return bad("no index line");
  if (line.starts_with("extra ")) {
    std::optional<std::string> extra = Base64Decode(line.substr(6));
    if (!extra) return bad("the extra data is not base64");
    p.extra = std::move(extra);
    if (!next_line(line)) return bad("no index line");
  }
  if (!line.starts_with("index ")) return bad("no index line");
  const std::string_view index = line.substr(6);
  if (index.empty() || (index.size() > 1 && index[0] == '0') ||
      !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("the index is not a decimal without leading zeros");
  }
  auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), p.index);
  if (ec != std::errc() || end != index.data() + index.size()) return bad("the index is too large");
  while (true) {
    if (!next_line(line)) return bad("no blank line before the checkpoint");
    if (line.empty()) break;
    std::optional<std::string> h = Base64Decode(line);
    if (!h || h->size() != kHashBytes) return bad("a proof line is not the base64 of 32 bytes");
    p.proof.push_back(*HashFromBytes(*h));
    if (p.proof.size() > 64) return bad("more than 64 proof hashes");
  }
  if (text.empty()) return bad("no checkpoint");
  p.checkpoint = std::string(text);
  return p;
}

Result<OpenedCheckpoint> VerifyProofFile(const ProofFile& p, std::string_view entry,
                                         std::span<const Verifier> verifiers,
                                         std::string_view origin) {
  VOUCH_ASSIGN_OR_RETURN(OpenedCheckpoint opened, OpenCheckpoint(p.checkpoint, verifiers, origin));
  VOUCH_TRY(VerifyInclusion(p.index, opened.checkpoint.size, LeafHash(entry), p.proof,
                            opened.checkpoint.root));
  return opened;
}

}  // namespace vouch::tlog
