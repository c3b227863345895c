// The audit log as an export directory (`vouch audit export`, docs/operations.md "Audit export"):
// what its files hold and how they are read back. Pure: the command does the file I/O.
//
//   events.jsonl          the stored canonical bytes of each event, one a line, in seq order: the
//                         Merkle leaves, from which anyone recomputes the root
//   checkpoints/<size>    each signed checkpoint (a C2SP signed note, cosignature lines included)
//   keys.txt              every verifier key the log ever used, one a line
//   tile/<L>/<N>[.p/<W>]  the stored tree's hash tiles (C2SP tlog-tiles) at the latest checkpoint
//   events.csv, cloudtrail.json, ocsf.json   the same events for other tools (--format), derived,
//                         not verified
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/audit/verify.h"
#include "vouch/tlog/note.h"
#include "vouch/util/json.h"
#include "vouch/util/status.h"

namespace vouch::audit {

inline constexpr std::string_view kExportEventsFile = "events.jsonl";
inline constexpr std::string_view kExportKeysFile = "keys.txt";
inline constexpr std::string_view kExportCheckpointsDir = "checkpoints";
inline constexpr std::string_view kExportCsvFile = "events.csv";
inline constexpr std::string_view kExportCloudTrailFile = "cloudtrail.json";
inline constexpr std::string_view kExportOcsfFile = "ocsf.json";

enum class ExportFormat { kJsonl, kCsv, kCloudTrail, kOcsf };
// "jsonl", "csv", "cloudtrail", "ocsf"; INVALID_ARGUMENT naming the choices otherwise.
Result<ExportFormat> ParseExportFormat(std::string_view name);

// Splits events.jsonl, fed in chunks of any size, into its lines and feeds each to `verifier` as
// an event (AddEvent with no stored seq). An empty line is fed as unreadable; a file that does not
// end in a newline has its last line fed and a finding that it is cut. Not thread-safe.
class ExportEventReader {
 public:
  explicit ExportEventReader(LogVerifier& verifier) : verifier_(verifier) {}
  void Feed(std::string_view chunk);
  void Finish();

 private:
  void Line(std::string_view line);
  LogVerifier& verifier_;
  std::string carry_;  // a line begun in an earlier chunk
};

// keys.txt: one verifier key (`<name>+<hex id>+<base64>`) a line; blank lines and lines starting
// with '#' are skipped. Each line that is not a key is a problem (`name`, its line number and why;
// `name` says where the text came from: keys.txt, a --key file, a server's published keys).
struct KeyFile {
  std::vector<tlog::Verifier> keys;
  std::vector<std::string> problems;
};
KeyFile ParseKeyFile(std::string_view text, std::string_view name = kExportKeysFile);

// The signed notes in a text holding one or several, each a note text, a blank line and its
// signature lines, one after the other (optionally blank-line separated): a checkpoint saved from
// the `checkpoint` route, or a --checkpoint-file that had each checkpoint appended. A part that is
// not a signed note is returned as it stands (opening it names the problem).
std::vector<std::string> SplitSignedNotes(std::string_view text);

// The other formats, from one event's stored bytes. INVALID_ARGUMENT when the bytes are not a JSON
// object. Derived views: they drop nothing a tool needs to find an event, and name its seq, but
// only events.jsonl verifies.
std::string CsvHeader();                            // with its final CRLF
Result<std::string> CsvRow(std::string_view body);  // one RFC 4180 record with its final CRLF
Result<json::object> CloudTrailRecord(std::string_view body);
Result<json::object> OcsfApiActivity(std::string_view body);

}  // namespace vouch::audit
