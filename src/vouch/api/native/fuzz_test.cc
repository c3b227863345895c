// Seeded, bounded random-input tests of every parser that reads outside input, and of the
// dispatcher with mutated requests. They run in the sanitizer build, where any memory error or
// undefined behaviour aborts; here they assert the parsers' contracts (an exact error code, round
// trips, canonical forms) and that every response is a known status with a well-formed error body.
//
// Each iteration draws from its own generator seeded with (kSeed, iteration), so a failure
// message's iteration number reproduces the input; the time budget only bounds how many iterations
// run.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "vouch/api/client_address.h"
#include "vouch/api/dispatcher.h"
#include "vouch/api/native/native_api.h"
#include "vouch/domain/model.h"
#include "vouch/domain/model_source.h"
#include "vouch/service/page_token.h"
#include "vouch/service/secrets.h"
#include "vouch/storage/open.h"
#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"
#include "vouch/util/net.h"
#include "vouch/util/text.h"
#include "vouch/util/time.h"

namespace vouch {
namespace {

constexpr uint64_t kSeed = 0x766f756368;  // "vouch"
constexpr int kMaxFailuresReported = 5;

// Runs `body(rng, i)` for up to `max_iterations`, stopping early when `budget` has passed.
template <typename F>
int Iterate(int max_iterations, std::chrono::milliseconds budget, F body) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  int i = 0;
  for (; i < max_iterations; ++i) {
    if ((i & 31) == 0 && std::chrono::steady_clock::now() > deadline) break;
    std::mt19937_64 rng(kSeed ^ (static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull));
    body(rng, i);
    if (::testing::Test::HasFatalFailure()) break;
  }
  return i;
}

size_t Below(std::mt19937_64& rng, size_t n) { return n == 0 ? 0 : rng() % n; }
bool OneIn(std::mt19937_64& rng, size_t n) { return Below(rng, n) == 0; }

// C-style escapes for failure messages.
std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out.size() > 300 ? out.substr(0, 300) + "…" : out;
}

std::string RandomString(std::mt19937_64& rng, size_t max_len, std::string_view alphabet = {}) {
  std::string s(Below(rng, max_len + 1), '\0');
  for (auto& c : s) {
    c = alphabet.empty() ? static_cast<char>(rng()) : alphabet[Below(rng, alphabet.size())];
  }
  return s;
}

// One to four edits: flip a bit, replace or insert a byte (from `alphabet` when given), insert a
// dictionary token, delete, duplicate or truncate a range.
std::string Mutate(std::mt19937_64& rng, std::string s, const std::vector<std::string>& dictionary,
                   std::string_view alphabet = {}) {
  const int edits = 1 + static_cast<int>(Below(rng, 4));
  for (int e = 0; e < edits; ++e) {
    const size_t pos = Below(rng, s.size() + 1);
    auto byte = [&] {
      return alphabet.empty() ? static_cast<char>(rng()) : alphabet[Below(rng, alphabet.size())];
    };
    switch (Below(rng, 7)) {
      case 0:
        if (!s.empty()) s[Below(rng, s.size())] ^= static_cast<char>(1u << Below(rng, 8));
        break;
      case 1:
        if (!s.empty()) s[Below(rng, s.size())] = byte();
        break;
      case 2:
        s.insert(s.begin() + static_cast<long>(pos), byte());
        break;
      case 3:
        if (!dictionary.empty()) s.insert(pos, dictionary[Below(rng, dictionary.size())]);
        break;
      case 4:
        if (pos < s.size()) s.erase(pos, 1 + Below(rng, std::min<size_t>(8, s.size() - pos)));
        break;
      case 5:
        if (pos < s.size()) {
          std::string chunk = s.substr(pos, 1 + Below(rng, 16));
          s.insert(Below(rng, s.size() + 1), chunk);
        }
        break;
      case 6:
        s.resize(pos);
        break;
    }
  }
  return s;
}

// Expects `cond`, reporting at most kMaxFailuresReported failures per property.
class Reporter {
 public:
  explicit Reporter(std::string property) : property_(std::move(property)) {}
  ~Reporter() {
    if (failures_ > kMaxFailuresReported) {
      ADD_FAILURE() << property_ << ": " << failures_ << " failures in all";
    }
  }
  void Check(bool cond, int iteration, std::string_view input, std::string_view detail = {}) {
    if (cond) return;
    if (++failures_ <= kMaxFailuresReported) {
      ADD_FAILURE() << property_ << " (iteration " << iteration
                    << ")\n  input: " << Printable(input) << (detail.empty() ? "" : "\n  ")
                    << Printable(detail);
    }
  }

 private:
  std::string property_;
  int failures_ = 0;
};

// ---- JSON ------------------------------------------------------------------------------------

const std::vector<std::string>& JsonCorpus() {
  static const std::vector<std::string> corpus = {
      "{}",
      R"({"name":"fraud-detector","description":"d","tags":{"team":"risk"}})",
      R"({"a":[1,2.5,-3e10,true,false,null,"x\u00e9\ud83d\ude00"],"b":{"c":{"d":[]}}})",
      R"({"n":9007199254740993,"m":-9007199254740991,"u":18446744073709551615})",
      R"({"s":"\"\\\/\b\f\n\r\t\u0001\u2028"})",
      R"({"z":-0.0,"small":5e-324,"big":1.7976931348623157e308,"x":0.1,"y":1e21,"w":1e-7})",
      R"({"k\u0000":"v","\ud800x":1})",
      R"({"source":"s3://x","metrics":{"auc":0.93},"params":{"lr":"0.1"}})",
      R"({"":"", "a":{"":[{"":{}}]}})",
      R"({"d":1e400,"e":-1e400})",
  };
  return corpus;
}

const std::vector<std::string> kJsonTokens = {"{",
                                              "}",
                                              "[",
                                              "]",
                                              "\"",
                                              ":",
                                              ",",
                                              "\\",
                                              "\\u",
                                              "d800",
                                              "\\udc00",
                                              "null",
                                              "true",
                                              "false",
                                              "1e",
                                              "-",
                                              ".",
                                              "0",
                                              "9999999999999999999999",
                                              "1e308",
                                              "\xff",
                                              "\xc3\xa9",
                                              "\xed\xa0\x80",
                                              " ",
                                              "\n",
                                              "{\"a\":",
                                              "[[[[[[[[",
                                              "1.7976931348623157e309",
                                              "4.9e-324"};

TEST(Fuzz, JsonParsingAndTheCanonicalFormHoldTheirContracts) {
  Reporter parse("ParseJsonObject fails only with INVALID_ARGUMENT");
  Reporter canon("CanonicalJson fails only with INVALID_ARGUMENT");
  Reporter reparse("the canonical form parses as JSON");
  Reporter recanon("the canonical form, parsed again, can be canonicalized again");
  Reporter idempotent("the canonical form is a fixed point (numbers are read correctly rounded)");
  Reporter serialize("SerializeJson produces JSON");
  int ran = Iterate(40'000, std::chrono::milliseconds(1000), [&](std::mt19937_64& rng, int i) {
    std::string input;
    if (OneIn(rng, 8)) {
      input = RandomString(rng, 64);
    } else {
      const auto& corpus = JsonCorpus();
      input = Mutate(rng, corpus[Below(rng, corpus.size())], kJsonTokens);
    }
    auto obj = ParseJsonObject(input);
    if (!obj.ok()) {
      parse.Check(obj.status().code() == StatusCode::kInvalidArgument, i, input,
                  obj.status().ToString());
      return;
    }
    json::value v = std::move(obj).value();
    auto c = CanonicalJson(v);
    if (!c.ok()) {
      canon.Check(c.status().code() == StatusCode::kInvalidArgument, i, input,
                  c.status().ToString());
    } else {
      // Read back as the audit verifier reads it (RFC 8785: a large integer is a double).
      auto again = ParseCanonicalJson(*c);
      reparse.Check(again.ok(), i, input, *c);
      if (again.ok()) {
        auto c2 = CanonicalJson(*again);
        recanon.Check(c2.ok(), i, input, *c + "  refused: " + c2.status().ToString());
        if (c2.ok()) idempotent.Check(*c2 == *c, i, input, *c + "  became  " + *c2);
      }
    }
    // NaN and infinities (1e400 parses as one) never reach SerializeJson; everything else must
    // come out as JSON.
    if (c.ok()) {
      std::string s = SerializeJson(v);
      serialize.Check(ParseJson(s).ok(), i, input, s);
    }
  });
  EXPECT_GT(ran, 100);
}

// ---- Times and durations ---------------------------------------------------------------------

TEST(Fuzz, Rfc3339ParsingHoldsItsContract) {
  const std::vector<std::string> corpus = {"2026-11-25T14:00:00Z",      "2026-11-25T14:00:00.123Z",
                                           "2024-02-29T23:59:60+01:30", "1970-01-01T00:00:00-00:00",
                                           "9999-12-31T23:59:59.999z",  "0001-01-01 00:00:00Z"};
  const std::vector<std::string> tokens = {"-",  ":",  "T",  "Z",  "+",  ".",   "00",
                                           "99", "60", "29", "02", "31", "\xff"};
  Reporter code("ParseRfc3339 fails only with INVALID_ARGUMENT");
  Reporter round_trip("a parsed time formats and parses back to itself");
  int ran = Iterate(40'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    std::string input = OneIn(rng, 4) ? RandomString(rng, 40, "0123456789-:TtZz+. ")
                                      : Mutate(rng, corpus[Below(rng, corpus.size())], tokens);
    auto t = ParseRfc3339(input);
    if (!t.ok()) {
      code.Check(t.status().code() == StatusCode::kInvalidArgument, i, input);
      return;
    }
    // Years 1..9999 have a four-digit form.
    if (*t >= -62'135'596'800'000 && *t <= 253'402'300'799'999) {
      std::string formatted = FormatRfc3339Ms(*t);
      auto back = ParseRfc3339(formatted);
      round_trip.Check(back.ok() && *back == *t, i, input, formatted);
    }
  });
  EXPECT_GT(ran, 100);
}

TEST(Fuzz, DurationParsingHoldsItsContract) {
  Reporter code("ParseDurationMs fails only with INVALID_ARGUMENT");
  Reporter sign("a parsed duration is not negative");
  Reporter exact("only unsigned digits followed by one unit parse, to the number times the unit");
  int ran = Iterate(40'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    std::string input = OneIn(rng, 2) ? RandomString(rng, 24, "0123456789msdh+-. xS")
                                      : Mutate(rng, "1500ms", {"9", "s", "m", "h", "d", "-"});
    auto d = ParseDurationMs(input);
    if (!d.ok()) {
      code.Check(d.status().code() == StatusCode::kInvalidArgument, i, input);
      return;
    }
    sign.Check(*d >= 0, i, input);
    // Re-derive from the text: digits then one unit.
    const size_t digits = input.find_first_not_of("0123456789");
    const std::string unit = digits == std::string::npos ? "" : input.substr(digits);
    const int64_t mult = unit == "ms"  ? 1
                         : unit == "s" ? 1000
                         : unit == "m" ? 60'000
                         : unit == "h" ? 3'600'000
                                       : 86'400'000;
    int64_t n = -1;
    std::from_chars(input.data(), input.data() + digits, n);
    exact.Check(digits > 0 && digits != std::string::npos && n * mult == *d, i, input,
                std::to_string(*d));
  });
  EXPECT_GT(ran, 100);
}

// ---- Model-version sources -------------------------------------------------------------------

// `s` percent-decoded (and `+` read as a space) until it no longer changes.
std::string FullyDecoded(std::string s) {
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  while (true) {
    std::string next;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        next.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) && hex(s[i + 2])) {
        next.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        next.push_back(s[i]);
      }
    }
    if (next == s) return s;
    s = std::move(next);
  }
}

TEST(Fuzz, ModelVersionSourceChecksHoldTheirContracts) {
  const std::vector<std::string> corpus = {"s3://bucket/a/b", "runs:/r1/model", "models:/M/1",
                                           "models:/M@champ", "models:/m-abc",  "/tmp/x",
                                           "file:///tmp/x",   "gs://b/x?y#z"};
  const std::vector<std::string> tokens = {
      "..", ".", "/", "//", "%2e", "%2E",   "%25",     "%2f",   "%00",     "+",
      "?",  "#", ";", "@",  ":",   "runs:", "models:", "RUNS:", "\xc3\xa9"};
  Reporter code("the checks fail only with INVALID_ARGUMENT and MLflow's message prefix");
  Reporter traversal("an accepted source has no `..` segment, however percent-encoded");
  Reporter runs("an accepted runs:/ source names exactly the run id given");
  int ran = Iterate(20'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    std::string source = Mutate(rng, corpus[Below(rng, corpus.size())], tokens);
    const std::string run_id = OneIn(rng, 3) ? "" : "r1";
    const std::string model_id = OneIn(rng, 4) ? "m-abc" : "";
    auto ref = ParseModelsSource(source);
    if (!ref.ok()) {
      code.Check(ref.status().code() == StatusCode::kInvalidArgument &&
                     ref.status().message().starts_with("Invalid model version source: '"),
                 i, source, ref.status().ToString());
    }
    Status checked = CheckSourceLineage(source, run_id, model_id);
    if (!checked.ok()) {
      code.Check(checked.code() == StatusCode::kInvalidArgument &&
                     checked.message().starts_with("Invalid model version source: '"),
                 i, source, checked.ToString());
      return;
    }
    const std::string decoded = FullyDecoded(source);
    traversal.Check(decoded != ".." && !decoded.starts_with("../") &&
                        decoded.find("/../") == std::string::npos && !decoded.ends_with("/.."),
                    i, source);
    UriParts uri = SplitUri(source);
    if (uri.scheme == "runs") {
      runs.Check(model_id.empty() && !run_id.empty() && uri.netloc.empty() &&
                     (uri.path == "/" + run_id || uri.path.starts_with("/" + run_id + "/")),
                 i, source, uri.path);
    }
  });
  EXPECT_GT(ran, 100);
}

// ---- Addresses, store URIs and keys (server flags and proxy headers) ------------------------

TEST(Fuzz, CidrListsAndForwardedHeadersHoldTheirContracts) {
  const std::vector<std::string> tokens = {"/", ",",    ".",  ":",   "::",   "[", "]",      "\"",
                                           ";", "for=", "10", "255", "ffff", " ", "unknown"};
  Reporter code("ParseCidrList fails only with INVALID_ARGUMENT");
  Reporter contains("a parsed range contains its own base address");
  Reporter client("an untrusted peer is the client; otherwise a non-empty, bounded UTF-8 hop");
  const auto trusted = *ParseCidrList("10.0.0.0/8,::1");
  int ran = Iterate(30'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    std::string list = OneIn(rng, 2) ? RandomString(rng, 40, "0123456789abcdef.:/, ")
                                     : Mutate(rng, "10.0.0.0/8, fd00::/8,127.0.0.1", tokens);
    auto ranges = ParseCidrList(list);
    if (!ranges.ok()) {
      code.Check(ranges.status().code() == StatusCode::kInvalidArgument, i, list);
    } else {
      for (const auto& r : *ranges) contains.Check(r.Contains(r.base), i, list);
    }
    api::HttpRequest r;
    r.remote_address = OneIn(rng, 2) ? "10.1.2.3" : "203.0.113.7";
    std::string header =
        Mutate(rng, "for=192.0.2.60;proto=http, for=\"[2001:db8::17]:4711\"", tokens);
    r.headers.emplace_back(OneIn(rng, 2) ? "forwarded" : "x-forwarded-for", header);
    std::string got = api::ClientAddress(r, trusted);
    if (r.remote_address == "203.0.113.7") {
      client.Check(got == r.remote_address, i, header, got);  // an untrusted peer is the client
    } else {
      client.Check(!got.empty() && got.size() <= 64 && IsValidUtf8(got), i, header, got);
    }
  });
  EXPECT_GT(ran, 100);
}

TEST(Fuzz, StoreUrisAndMasterKeysAreParsedOrRefusedCleanly) {
  const std::vector<std::string> tokens = {
      "sqlite://", "postgresql://", "postgres://", "://", "dbname=", "=", "@", ":", "/", "%", "?"};
  Reporter uri("ParseStoreUri fails only with INVALID_ARGUMENT, repeating at most the scheme");
  Reporter kind("a PostgreSQL-looking URI never becomes a SQLite path");
  Reporter redact("Describe() never holds the password libpq would use");
  Reporter key("ParseMasterKey yields 32 bytes or INVALID_ARGUMENT without the text");
  int ran = Iterate(30'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    std::string text = Mutate(rng, "postgresql://u:s3cr3t@h:5432/db", tokens);
    auto where = store::ParseStoreUri(text);
    const std::string before_colon = text.substr(0, text.find(':'));
    if (!where.ok()) {
      uri.Check(where.status().code() == StatusCode::kInvalidArgument &&
                    (where.status().message().find("s3cr3t") == std::string::npos ||
                     before_colon.find("s3cr3t") != std::string::npos),
                i, text, where.status().message());
      return;
    }
    if (where->kind == store::StoreKind::kSqlite) {
      const std::string& path = where->sqlite_path;
      kind.Check(!path.starts_with("postgres") && path.find("://") == std::string::npos, i, text,
                 path);
      return;
    }
    std::string password;
    char* err = nullptr;
    if (PQconninfoOption* opts = PQconninfoParse(where->dsn.c_str(), &err)) {
      for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
        if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
      }
      PQconninfoFree(opts);
    }
    if (err != nullptr) PQfreemem(err);
    const std::string shown = store::RedactDsn(where->dsn);
    redact.Check(password.empty() || shown.find(password) == std::string::npos, i, text, shown);
    std::string key_text = OneIn(rng, 2) ? RandomString(rng, 70)
                                         : Mutate(rng, Base64UrlEncode(std::string(32, 'k')), {});
    auto parsed = service::ParseMasterKey(key_text);
    key.Check(parsed.ok() ? parsed->size() == 32
                          : parsed.status().code() == StatusCode::kInvalidArgument &&
                                (key_text.size() < 8 ||
                                 parsed.status().message().find(key_text) == std::string::npos),
              i, key_text);
  });
  EXPECT_GT(ran, 100);
}

// ---- Encodings and tokens --------------------------------------------------------------------

TEST(Fuzz, Base64UrlDecodingAcceptsOnlyCanonicalText) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .";
  Reporter canonical("decoded text re-encodes to itself");
  Reporter round_trip("encoded bytes decode to themselves");
  int ran = Iterate(40'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    std::string text = RandomString(rng, 40, kAlphabet.substr(0, OneIn(rng, 3) ? 69 : 64));
    auto decoded = Base64UrlDecode(text);
    if (decoded) canonical.Check(Base64UrlEncode(*decoded) == text, i, text);
    std::string bytes = RandomString(rng, 40);
    auto back = Base64UrlDecode(Base64UrlEncode(bytes));
    round_trip.Check(back && *back == bytes, i, bytes);
  });
  EXPECT_GT(ran, 100);
}

TEST(Fuzz, PageTokensRejectEveryAlteration) {
  const service::PageTokens tokens("fuzz-key");
  const std::vector<std::string> valid = {
      tokens.Encode({{"after_name", "model-07"}}),
      tokens.Encode({{"after_version", 12}}),
      tokens.Encode({{"after_seq", 9007199254740991}}),
      tokens.Encode({{"after_name", "\xc3\xa9\xf0\x9f\x98\x80/\"\\"}}),
  };
  Reporter altered("an altered token is refused with INVALID_ARGUMENT 'invalid page token'");
  Reporter intact("an unaltered token decodes");
  int ran = Iterate(20'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    const std::string& original = valid[Below(rng, valid.size())];
    std::string token = OneIn(rng, 8) ? RandomString(rng, 60)
                                      : Mutate(rng, original, {".", "A", "_", "-", "=="},
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
                                               "yz0123456789-_.");
    auto decoded = tokens.Decode(token);
    if (std::find(valid.begin(), valid.end(), token) != valid.end()) {
      intact.Check(decoded.ok(), i, token);
      return;
    }
    altered.Check(!decoded.ok() && decoded.status().code() == StatusCode::kInvalidArgument &&
                      decoded.status().message() == "invalid page token",
                  i, token);
  });
  EXPECT_GT(ran, 100);
}

// The well-formed UTF-8 byte sequences of the Unicode Standard, table 3-7.
bool WellFormedUtf8(std::string_view s) {
  size_t i = 0;
  auto in = [&](size_t k, unsigned lo, unsigned hi) {
    return k < s.size() && static_cast<unsigned char>(s[k]) >= lo &&
           static_cast<unsigned char>(s[k]) <= hi;
  };
  while (i < s.size()) {
    const unsigned c = static_cast<unsigned char>(s[i]);
    if (c <= 0x7f) {
      i += 1;
    } else if (c >= 0xc2 && c <= 0xdf && in(i + 1, 0x80, 0xbf)) {
      i += 2;
    } else if (c == 0xe0 && in(i + 1, 0xa0, 0xbf) && in(i + 2, 0x80, 0xbf)) {
      i += 3;
    } else if (((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) && in(i + 1, 0x80, 0xbf) &&
               in(i + 2, 0x80, 0xbf)) {
      i += 3;
    } else if (c == 0xed && in(i + 1, 0x80, 0x9f) && in(i + 2, 0x80, 0xbf)) {
      i += 3;
    } else if (c == 0xf0 && in(i + 1, 0x90, 0xbf) && in(i + 2, 0x80, 0xbf) &&
               in(i + 3, 0x80, 0xbf)) {
      i += 4;
    } else if (c >= 0xf1 && c <= 0xf3 && in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf) &&
               in(i + 3, 0x80, 0xbf)) {
      i += 4;
    } else if (c == 0xf4 && in(i + 1, 0x80, 0x8f) && in(i + 2, 0x80, 0xbf) &&
               in(i + 3, 0x80, 0xbf)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

TEST(Fuzz, Utf8ValidationAgreesWithTheUnicodeTable) {
  // Bytes around every boundary of table 3-7.
  const std::string kBytes =
      "a\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe1\xec\xed\xee\xef\xf0\xf1\xf3\xf4\xf5"
      "\xff";
  const std::vector<std::string> tokens = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                           "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf"};
  Reporter agree("ValidateUtf8 agrees with the table, and refuses U+0000");
  Reporter code("ValidateUtf8 fails only with INVALID_ARGUMENT");
  int ran = Iterate(100'000, std::chrono::milliseconds(500), [&](std::mt19937_64& rng, int i) {
    std::string s = OneIn(rng, 2) ? RandomString(rng, 8, kBytes)
                                  : Mutate(rng, "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", tokens);
    Status st = ValidateUtf8("field", s);
    const bool has_nul = s.find('\0') != std::string::npos;
    agree.Check(st.ok() == (WellFormedUtf8(s) && !has_nul), i, s, st.ToString());
    if (!st.ok()) code.Check(st.code() == StatusCode::kInvalidArgument, i, s);
  });
  EXPECT_GT(ran, 100);
}

// ---- The dispatcher --------------------------------------------------------------------------

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kToken[] = "vch_fuzz-token";

struct Request {
  std::string method;
  std::string target;
  std::string body;
};

class DispatcherFuzz : public ::testing::Test {
 protected:
  DispatcherFuzz() {
    EXPECT_TRUE(auth_.Bootstrap(kToken).ok());
    api::native::RegisterRoutes(router_, registry_, [this] { return db_.store().Ready(); });
  }

  api::HttpResponse Send(const Request& r, api::HeaderList headers) {
    api::HttpRequest req{r.method, r.target, std::move(headers), r.body, "198.51.100.4"};
    return dispatcher_.Handle(req);
  }

  // Puts back model "m" with versions and an alias, so that mutations of the corpus keep reaching
  // deep routes after a mutated request renamed or deleted it.
  void Reseed() {
    api::HeaderList auth = {{"authorization", std::string("Bearer ") + kToken}};
    if (Send({"GET", "/api/v1/models/m", ""}, auth).status == 404) {
      Send({"POST", "/api/v1/models", R"({"name":"m","tags":{"team":"risk"}})"}, auth);
      Send({"POST", "/api/v1/models/m/versions", R"({"source":"s3://x"})"}, auth);
      Send({"POST", "/api/v1/models/m/versions", R"({"source":"s3://y"})"}, auth);
      Send({"PUT", "/api/v1/models/m/aliases/champion", R"({"version":1})"}, auth);
    }
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  service::AuthService auth_{db_.store(), clock_, 60'000};
  service::RegistryService registry_{db_.store(), service::PageTokens("fuzz-page-key")};
  api::Router router_;
  api::Dispatcher dispatcher_{router_, auth_, clock_};
};

const std::vector<Request>& RequestCorpus() {
  static const std::vector<Request> corpus = {
      {"GET", "/health", ""},
      {"GET", "/ready", ""},
      {"GET", "/api/v1/whoami", ""},
      {"GET", "/api/v1/models?limit=2", ""},
      {"POST", "/api/v1/models", R"({"name":"n1","description":"d","tags":{"a":"b"}})"},
      {"GET", "/api/v1/models/m", ""},
      {"PATCH", "/api/v1/models/m", R"({"description":"x"})"},
      {"POST", "/api/v1/models/m/rename", R"({"new_name":"m2"})"},
      {"POST", "/api/v1/models/m2/rename", R"({"new_name":"m"})"},
      {"DELETE", "/api/v1/models/n1", ""},
      {"PUT", "/api/v1/models/m/tags/k", R"({"value":"v"})"},
      {"DELETE", "/api/v1/models/m/tags/k", ""},
      {"POST", "/api/v1/models/m/versions",
       R"({"source":"s3://b/m.tgz","run_id":"r1","model_id":"m-1","description":"d",)"
       R"("tags":{"t":"1"},"metrics":{"auc":0.93,"loss":1e-9},"params":{"lr":"0.1"},)"
       R"("artifact_digest":"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})"},
      {"GET", "/api/v1/models/m/versions?limit=1", ""},
      {"GET", "/api/v1/models/m/versions/1", ""},
      {"PATCH", "/api/v1/models/m/versions/1", R"({"description":"d2"})"},
      {"DELETE", "/api/v1/models/m/versions/3", ""},
      {"PUT", "/api/v1/models/m/versions/1/tags/k", R"({"value":"v"})"},
      {"DELETE", "/api/v1/models/m/versions/1/tags/k", ""},
      {"PUT", "/api/v1/models/m/versions/1/metrics/auc", R"({"value":0.5})"},
      {"DELETE", "/api/v1/models/m/versions/1/metrics/auc", ""},
      {"PUT", "/api/v1/models/m/versions/2/params/p", R"({"value":"x"})"},
      {"DELETE", "/api/v1/models/m/versions/2/params/p", ""},
      {"POST", "/api/v1/models/m/versions/1/stage",
       R"({"stage":"Production","archive_existing":true,"comment":"c"})"},
      {"POST", "/api/v1/models/m/versions/2/stage", R"({"stage":"staging"})"},
      {"PUT", "/api/v1/models/m/aliases/champion", R"({"version":2,"comment":"c"})"},
      {"GET", "/api/v1/models/m/aliases/champion", ""},
      {"DELETE", "/api/v1/models/m/aliases/champion?comment=bye", ""},
      {"GET",
       "/api/v1/audit?model=m&version=1&actor=admin&action=model.created"
       "&since=2020-01-01T00:00:00Z&until=2030-01-01T00:00:00Z&limit=5",
       ""},
      {"GET", "/api/v1/audit?limit=3&page_token=abc.def", ""},
  };
  return corpus;
}

const std::vector<std::string> kUrlTokens = {"/",        "%",
                                             "%2F",      "%2f",
                                             "%00",      "%FF",
                                             "%C3%A9",   "%E2%82",
                                             "%ZZ",      "?",
                                             "&",        "=",
                                             "+",        "#",
                                             "..",       ".",
                                             "//",       "%20",
                                             "limit=",   "page_token=",
                                             "versions", "aliases",
                                             "1",        "0",
                                             "-1",       "99999999999999999999",
                                             "{name}",   ";",
                                             "@",        ":"};

// Values that go where a name, number, alias, stage or query value goes.
const std::vector<std::string> kSegmentValues = {"m",
                                                 "%FF",
                                                 "%C3",
                                                 "%E2%82",
                                                 "%ED%A0%80",
                                                 "%C0%AF",
                                                 "%00",
                                                 "%0A",
                                                 "%7F",
                                                 "a%2Fb",
                                                 "",
                                                 "..",
                                                 ".",
                                                 "-1",
                                                 "0",
                                                 "1",
                                                 "2",
                                                 "3",
                                                 "+1",
                                                 "1.0",
                                                 "99999999999999999999",
                                                 "%E2%82%AC",
                                                 "latest",
                                                 "v1",
                                                 "Production",
                                                 "x%20y",
                                                 "a+b",
                                                 "%25",
                                                 "champion",
                                                 "model.created",
                                                 "2026-11-25T14:00:00Z",
                                                 "-24h",
                                                 "abc.def"};

// Replaces one path segment or one query value with a value from kSegmentValues, so that the
// request still reaches a route and the value reaches its handler.
std::string ReplaceSegment(std::mt19937_64& rng, const std::string& target) {
  const size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q);
  const std::string& value = kSegmentValues[Below(rng, kSegmentValues.size())];
  if (!query.empty() && OneIn(rng, 2)) {
    std::vector<size_t> equals;
    for (size_t i = 0; i < query.size(); ++i) {
      if (query[i] == '=') equals.push_back(i);
    }
    if (!equals.empty()) {
      size_t at = equals[Below(rng, equals.size())] + 1;
      size_t end = query.find('&', at);
      query.replace(at, (end == std::string::npos ? query.size() : end) - at, value);
      return path + query;
    }
  }
  std::vector<size_t> slashes;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '/') slashes.push_back(i);
  }
  if (slashes.empty()) return target;
  size_t at = slashes[Below(rng, slashes.size())] + 1;
  size_t end = path.find('/', at);
  path.replace(at, (end == std::string::npos ? path.size() : end) - at, value);
  return path + query;
}

const std::vector<std::string> kMethods = {"GET",  "POST",    "PUT",   "PATCH", "DELETE",
                                           "HEAD", "OPTIONS", "TRACE", "get",   "CONNECT"};

bool IsKnownStatus(int status) {
  static const std::set<int> kKnown = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 429};
  return kKnown.count(status) > 0;
}

std::string_view HeaderOf(const api::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

TEST_F(DispatcherFuzz, EveryMutatedRequestGetsAKnownStatusAndAWellFormedBody) {
  Reporter status("the status is a known one (not 5xx)");
  Reporter error_body("an error body is {\"error\":{code,message,request_id}} JSON");
  Reporter ok_body("a success body is JSON");
  Reporter request_id("every response carries X-Request-Id");
  const std::set<std::string_view> names = [] {
    std::set<std::string_view> out;
    for (int c = 0; c <= static_cast<int>(StatusCode::kMethodNotAllowed); ++c) {
      out.insert(StatusCodeName(static_cast<StatusCode>(c)));
    }
    return out;
  }();
  Reseed();
  int ran = Iterate(5'000, std::chrono::milliseconds(2000), [&](std::mt19937_64& rng, int i) {
    if (i % 50 == 0) Reseed();
    if (i % 97 == 0) auth_.FlushDenials(true);
    clock_.Advance(static_cast<TimeMs>(Below(rng, 2000)));
    const auto& corpus = RequestCorpus();
    Request r = corpus[Below(rng, corpus.size())];
    api::HeaderList headers = {{"authorization", std::string("Bearer ") + kToken}};
    const size_t what = Below(rng, 10);
    if (what <= 1) r.target = Mutate(rng, r.target, kUrlTokens);
    if (what == 2 || what == 3) r.target = ReplaceSegment(rng, r.target);
    if (what >= 3 && what <= 6) r.body = Mutate(rng, r.body.empty() ? "{}" : r.body, kJsonTokens);
    if (what == 7) r.method = kMethods[Below(rng, kMethods.size())];
    if (what >= 8 || OneIn(rng, 6)) {
      switch (Below(rng, 5)) {
        case 0:
          headers.clear();
          break;
        case 1:
          headers[0].second = Mutate(rng, headers[0].second, {" ", "Bearer", "vch_"});
          break;
        case 2:
          headers.emplace_back("x-request-id", RandomString(rng, 140, "ab-_. /\x01"));
          break;
        case 3:
          // HTTP allows any visible byte and obs-text (0x80-0xff) in a header value.
          headers.emplace_back("user-agent", RandomString(rng, 300,
                                                          " !#$%&'()*+,-./0123456789:;<=>?@ABCXYZ"
                                                          "[]^_`abcxyz{|}~\x80\xa9\xc3\xe2\xff"));
          break;
        case 4:
          headers.emplace_back("authorization", "Bearer other");
          break;
      }
    }
    api::HttpResponse resp = Send(r, headers);
    const std::string input = r.method + " " + r.target + " " + r.body;
    status.Check(IsKnownStatus(resp.status), i, input,
                 fmt::format("{} {}", resp.status, resp.body));
    request_id.Check(!HeaderOf(resp, "X-Request-Id").empty(), i, input);
    if (resp.status >= 400) {
      auto body = ParseJsonObject(resp.body);
      bool well_formed = body.ok() && body->contains("error") && body->at("error").is_object();
      if (well_formed) {
        const json::object& e = body->at("error").as_object();
        well_formed = e.contains("code") && e.at("code").is_string() &&
                      names.count(std::string_view(e.at("code").as_string())) > 0 &&
                      e.contains("message") && e.at("message").is_string() &&
                      e.contains("request_id") &&
                      e.at("request_id") == json::value(HeaderOf(resp, "X-Request-Id"));
      }
      error_body.Check(well_formed, i, input, resp.body);
    } else if (resp.status != 204) {
      ok_body.Check(ParseJson(resp.body).ok(), i, input, resp.body);
    }
  });
  EXPECT_GT(ran, 50);
}

TEST_F(DispatcherFuzz, TheAuditLogStaysGaplessParseableAndMatchedByTheOutbox) {
  Reseed();
  Iterate(1'500, std::chrono::milliseconds(1200), [&](std::mt19937_64& rng, int i) {
    if (i % 50 == 0) Reseed();
    if (i % 97 == 0) auth_.FlushDenials(true);
    const auto& corpus = RequestCorpus();
    Request r = corpus[Below(rng, corpus.size())];
    if (OneIn(rng, 2)) r.body = Mutate(rng, r.body.empty() ? "{}" : r.body, kJsonTokens);
    if (OneIn(rng, 3)) r.target = ReplaceSegment(rng, r.target);
    api::HeaderList headers;
    if (!OneIn(rng, 5)) headers.emplace_back("authorization", std::string("Bearer ") + kToken);
    headers.emplace_back("user-agent",
                         RandomString(rng, 300, "abcXYZ019 ;()/.-_\x80\xa9\xc3\xe2\xff"));
    Send(r, headers);
  });
  auth_.FlushDenials(true);

  std::vector<store::StoredAuditEvent> events;
  int64_t outbox = -1;
  ASSERT_TRUE(db_.store()
                  .Read([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(events, tx.ListAuditEvents({.limit = 1'000'000}));
                    VOUCH_ASSIGN_OR_RETURN(outbox, tx.CountPendingOutbox());
                    return OkStatus();
                  })
                  .ok());
  Reporter gapless("sequence numbers run 1..N without a gap");
  Reporter parseable("every stored event is a JSON object carrying its seq");
  int64_t done = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    gapless.Check(events[i].seq == static_cast<int64_t>(i + 1), static_cast<int>(i),
                  std::to_string(events[i].seq));
    auto o = ParseJsonObject(events[i].body);
    parseable.Check(o.ok() && o->contains("seq") && o->at("seq") == json::value(events[i].seq),
                    static_cast<int>(i), events[i].body);
    // Canonical bodies have no whitespace, so the outcome reads the same in an unparseable one.
    if (events[i].body.find(R"("outcome":"done")") != std::string::npos) ++done;
  }
  EXPECT_GT(events.size(), 10u);
  EXPECT_EQ(outbox, done) << "every done event, and nothing else, is in the outbox";
}

}  // namespace
}  // namespace vouch
