// audit export, and the offline verification of an export directory (`audit verify DIR`): they
// read a store or files directly, never a server, and print through the Session's streams. Exit 0
// when done (intact), 1 when refused or the log does not verify, 2 on a usage error.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ranges>
#include <string>
#include <system_error>
#include <vector>

#include "vouch/cli/audit_export.h"

#include "vouch/audit/export.h"
#include "vouch/audit/verify.h"
#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"
#include "vouch/storage/open.h"
#include "vouch/store/audit_rows.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kExportPage = 5000;
constexpr size_t kReadChunk = 1 << 22;

// Read-only: no migration, no lock, no writer; a running server is not disturbed.
Result<std::unique_ptr<store::Store>> OpenForReading(const store::StoreLocation& where) {
  if (where.kind == store::StoreKind::kSqlite) {
    VOUCH_ASSIGN_OR_RETURN(
        auto sqlite, store::SqliteStore::Open({.path = where.sqlite_path, .read_only = true}));
    return std::unique_ptr<store::Store>(std::move(sqlite));
  }
  return store::OpenStore(where, {.pg_pool_size = 1, .pg_statement_timeout_ms = 0});
}

// A file written in big buffered blocks; the first failure is kept.
class OutFile {
 public:
  OutFile() = default;
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  ~OutFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Open(const fs::path& path) {
    path_ = path.string();
    file_ = std::fopen(path_.c_str(), "wbx");
    if (file_ == nullptr) return Unavailable(fmt::format("cannot create {}", path_));
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
    return OkStatus();
  }
  bool is_open() const { return file_ != nullptr; }
  void Write(std::string_view bytes) {
    if (file_ != nullptr && ok_ &&
        std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      ok_ = false;
    }
  }
  Status Close() {
    if (file_ == nullptr) return OkStatus();
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok_ || !closed) return Unavailable(fmt::format("cannot write {}", path_));
    return OkStatus();
  }

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
  bool ok_ = true;
};

struct ExportArgs {
  std::string store;
  std::string data_dir;
  std::string out;
  std::vector<std::string> formats;
};

struct ExportTotals {
  int64_t events = 0;
  tlog::Hash root{};
};

Status WriteFile(const fs::path& path, std::string_view bytes) {
  OutFile f;
  VOUCH_TRY(f.Open(path));
  f.Write(bytes);
  return f.Close();
}

// keys.txt, checkpoints/<size> (each note with its cosignature lines) and the stored tree's hash
// tiles at the exported size (tile/<L>/<N>[.p/<W>]), from the same snapshot as the events. A store
// without checkpoint tables or tree (an older read-only file) exports none of them.
Status WriteTreeFiles(store::Tx& tx, const fs::path& dir, uint64_t size) {
  Result<std::vector<store::AuditSigningKey>> keys = tx.ListAuditSigningKeys();
  if (keys.ok()) {
    std::string text;
    for (const store::AuditSigningKey& k : *keys) text += k.verifier_key + "\n";
    VOUCH_TRY(WriteFile(dir / audit::kExportKeysFile, text));
    std::error_code ec;
    fs::create_directory(dir / audit::kExportCheckpointsDir, ec);
    if (ec) return Unavailable(fmt::format("cannot create {}", audit::kExportCheckpointsDir));
    for (int64_t after = 0;;) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpointRow> rows,
                             tx.ListAuditCheckpoints(after, kExportPage));
      for (const store::AuditCheckpointRow& row : rows) {
        after = row.id;
        if (static_cast<uint64_t>(row.size) > size) continue;  // not in this snapshot's log
        std::string note = row.note;
        VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditCosignatureRow> cosignatures,
                               tx.ListAuditCosignatures(row.id));
        for (const store::AuditCosignatureRow& c : cosignatures) note += c.line + "\n";
        VOUCH_TRY(WriteFile(dir / audit::kExportCheckpointsDir / std::to_string(row.size), note));
      }
      if (static_cast<int>(rows.size()) < kExportPage) break;
    }
  }
  Result<uint64_t> tree_size = tx.AuditTreeSize();
  if (!tree_size.ok() || *tree_size < size) return OkStatus();
  for (const tlog::Tile& tile : tlog::TilesOfTree(size)) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> hashes,
                           tx.AuditTreeHashes(tile.level * tlog::kTileHeight,
                                              tile.index * tlog::kTileWidth, tile.width));
    if (static_cast<int>(hashes.size()) != tile.width) {
      return Status(StatusCode::kDataLoss,
                    fmt::format("the stored tree lacks hashes of {}", tlog::TilePath(tile)));
    }
    std::string data;
    for (const tlog::Hash& h : hashes) data += tlog::HashBytes(h);
    const fs::path path = dir / tlog::TilePath(tile);
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Unavailable(fmt::format("cannot create {}", path.parent_path().string()));
    VOUCH_TRY(WriteFile(path, data));
  }
  return OkStatus();
}

// Writes the export's files from one read of the store (one snapshot).
Result<ExportTotals> WriteExport(store::Store& store, const fs::path& dir,
                                 const std::vector<audit::ExportFormat>& formats) {
  auto wants = [&](audit::ExportFormat f) {
    return std::find(formats.begin(), formats.end(), f) != formats.end();
  };
  OutFile events, csv, cloudtrail, ocsf;
  VOUCH_TRY(events.Open(dir / audit::kExportEventsFile));
  if (wants(audit::ExportFormat::kCsv)) {
    VOUCH_TRY(csv.Open(dir / audit::kExportCsvFile));
    csv.Write(audit::CsvHeader());
  }
  if (wants(audit::ExportFormat::kCloudTrail)) {
    VOUCH_TRY(cloudtrail.Open(dir / audit::kExportCloudTrailFile));
    cloudtrail.Write("{\"Records\":[");
  }
  if (wants(audit::ExportFormat::kOcsf)) {
    VOUCH_TRY(ocsf.Open(dir / audit::kExportOcsfFile));
    ocsf.Write("[");
  }
  ExportTotals totals;
  tlog::RightEdge edge;
  VOUCH_TRY(store.Read([&](store::Tx& tx) -> Status {
    store::AuditFilter page{.after_seq = 0, .limit = kExportPage};
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<store::StoredAuditEvent> batch, tx.ListAuditEvents(page));
      for (const store::StoredAuditEvent& e : batch) {
        events.Write(e.body);
        events.Write("\n");
        edge.Append(tlog::LeafHash(e.body));
        const std::string_view separator = totals.events == 0 ? "\n" : ",\n";
        ++totals.events;
        if (csv.is_open()) {
          VOUCH_ASSIGN_OR_RETURN(std::string row, audit::CsvRow(e.body));
          csv.Write(row);
        }
        if (cloudtrail.is_open()) {
          VOUCH_ASSIGN_OR_RETURN(json::object record, audit::CloudTrailRecord(e.body));
          cloudtrail.Write(separator);
          cloudtrail.Write(SerializeJson(record));
        }
        if (ocsf.is_open()) {
          VOUCH_ASSIGN_OR_RETURN(json::object record, audit::OcsfApiActivity(e.body));
          ocsf.Write(separator);
          ocsf.Write(SerializeJson(record));
        }
      }
      if (static_cast<int>(batch.size()) < page.limit) break;
      page.after_seq = batch.back().seq;
    }
    return WriteTreeFiles(tx, dir, static_cast<uint64_t>(totals.events));
  }));
  cloudtrail.Write("\n]}\n");
  ocsf.Write("\n]\n");
  VOUCH_TRY(events.Close());
  VOUCH_TRY(csv.Close());
  VOUCH_TRY(cloudtrail.Close());
  VOUCH_TRY(ocsf.Close());
  totals.root = edge.Root();
  return totals;
}

int Export(const ExportArgs& a, Session& s) {
  auto where = StoreFrom(a.store, a.data_dir);
  if (!where.ok()) return s.Fail(where.status().message(), kExitUsage);
  std::vector<audit::ExportFormat> formats = {audit::ExportFormat::kJsonl};
  for (const std::string& list : a.formats) {
    for (const auto part : std::views::split(std::string_view(list), ',')) {
      auto f = audit::ParseExportFormat(std::string_view(part.begin(), part.end()));
      if (!f.ok()) return s.Fail(f.status().message(), kExitUsage);
      formats.push_back(*f);
    }
  }
  const fs::path dir(a.out);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return s.Fail(fmt::format("{} exists and is not empty; export into a new directory", a.out),
                  kExitRefused);
  }
  fs::create_directories(dir, ec);
  if (ec) return s.Fail(fmt::format("cannot create {}: {}", a.out, ec.message()), kExitRefused);
  fs::permissions(dir, fs::perms::owner_all, ec);
  auto opened = OpenForReading(*where);
  if (!opened.ok()) {
    return s.Fail(opened.status().message(), opened.status().code() == StatusCode::kInvalidArgument
                                                 ? kExitUsage
                                                 : kExitRefused);
  }
  auto totals = WriteExport(**opened, dir, formats);
  if (!totals.ok()) {
    return s.Fail(fmt::format("the export of {} into {} failed: {}", where->Describe(), a.out,
                              totals.status().message()),
                  kExitRefused);
  }
  const std::string root = HexEncode(tlog::HashBytes(totals->root));
  if (s.format() != OutputFormat::kTable) {
    PrintObject(json::object{{"store", where->Describe()},
                             {"out", a.out},
                             {"events", totals->events},
                             {"merkle_root", root}},
                s.format(), s.out());
    return kExitOk;
  }
  s.out() << fmt::format("exported {} events of {} into {} (Merkle root {})\n", totals->events,
                         where->Describe(), a.out, root);
  return kExitOk;
}

// ---- verifying an export directory

Result<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read {}", path.string()));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

// The leaf hashes of an export's level-0 tiles (full `tile/0/N`, or the partial `tile/0/N.p/W`).
audit::LeafHashReader ExportLeafReader(const fs::path& dir) {
  return [dir](uint64_t first, int count) -> Result<std::vector<tlog::Hash>> {
    const uint64_t n = first / tlog::kTileWidth;
    fs::path file = dir / tlog::TilePath({0, n, tlog::kTileWidth});
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      file.clear();
      const fs::path partials = dir / (tlog::TilePath({0, n, tlog::kTileWidth}) + ".p");
      for (const auto& entry : fs::directory_iterator(partials, ec)) file = entry.path();
    }
    std::vector<tlog::Hash> out;
    if (file.empty()) return out;  // the tree holds no leaf there
    VOUCH_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(file));
    if (data.size() % tlog::kHashBytes != 0) {
      return InvalidArgument(
          fmt::format("{} is not a whole number of hashes", fs::relative(file, dir).string()));
    }
    for (size_t at = (first % tlog::kTileWidth) * tlog::kHashBytes;
         at < data.size() && static_cast<int>(out.size()) < count; at += tlog::kHashBytes) {
      out.push_back(
          tlog::HashFromBytes(std::string_view(data).substr(at, tlog::kHashBytes)).value());
    }
    return out;
  };
}

}  // namespace

int PrintVerification(const audit::VerificationReport& r, std::string_view what, Session& s) {
  if (s.format() != OutputFormat::kTable) {
    json::array findings;
    for (const audit::Finding& f : r.findings) {
      findings.push_back(json::object{
          {"kind", audit::FindingKindName(f.kind)}, {"seq", f.seq}, {"message", f.message}});
    }
    json::object out{{"source", what},
                     {"verified", r.ok()},
                     {"events", r.events},
                     {"root", r.RootHex()},
                     {"checkpoints", r.checkpoints},
                     {"checkpoints_verified", r.checkpoints_ok},
                     {"latest_checkpoint", r.latest_checkpoint},
                     {"saved_checkpoint_consistent", r.saved_checked},
                     {"findings", std::move(findings)},
                     {"findings_not_listed", r.findings_dropped}};
    if (!r.chain_digest.empty()) out["chain_digest"] = r.chain_digest;
    PrintObject(std::move(out), s.format(), s.out());
    return r.ok() ? kExitOk : kExitRefused;
  }
  if (r.ok()) {
    std::string checkpoints = r.checkpoints == 0
                                  ? "no checkpoint"
                                  : fmt::format("{} checkpoints verified (the latest at size {})",
                                                r.checkpoints_ok, r.latest_checkpoint);
    s.out() << fmt::format("ok: {} events, Merkle root {}, {}{}\n", r.events, r.RootHex(),
                           checkpoints,
                           r.saved_checked ? ", consistent with the saved checkpoint" : "");
    if (!r.chain_digest.empty()) {
      s.out() << "hash-chain log digest (what vouch printed before the Merkle log): "
              << r.chain_digest << "\n";
    }
    return kExitOk;
  }
  for (const audit::Finding& f : r.findings) s.out() << f.message << "\n";
  if (r.findings_dropped > 0) {
    s.out() << fmt::format("… and {} more problems not listed\n", r.findings_dropped);
  }
  return s.Fail(fmt::format("the audit log of {} does not verify: {} problem{} (the first: {})",
                            what, r.findings.size() + r.findings_dropped,
                            r.findings.size() + r.findings_dropped == 1 ? "" : "s",
                            r.findings.empty() ? "" : r.findings[0].message),
                kExitRefused);
}

// The keys --key names: each a verifier key text, or a file of them (one a line).
Result<std::vector<tlog::Verifier>> TrustedKeys(const std::vector<std::string>& given) {
  std::vector<tlog::Verifier> keys;
  for (const std::string& text : given) {
    std::error_code ec;
    if (fs::is_regular_file(text, ec)) {
      VOUCH_ASSIGN_OR_RETURN(std::string contents, ReadWholeFile(text));
      audit::KeyFile file = audit::ParseKeyFile(contents, text);
      if (!file.problems.empty()) return InvalidArgument("--key " + file.problems[0]);
      if (file.keys.empty()) return InvalidArgument(fmt::format("--key {} holds no key", text));
      keys.insert(keys.end(), file.keys.begin(), file.keys.end());
      continue;
    }
    Result<tlog::Verifier> key = tlog::ParseVerifierKey(text);
    if (!key.ok()) {
      return InvalidArgument(fmt::format("--key {}: {}", text, key.status().message()));
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

Result<std::vector<audit::CheckpointSource>> SavedCheckpoints(const std::string& saved) {
  std::vector<audit::CheckpointSource> out;
  if (saved.empty()) return out;
  Result<std::string> text = ReadWholeFile(saved);
  if (!text.ok()) return InvalidArgument("--checkpoint: " + text.status().message());
  for (std::string& note : audit::SplitSignedNotes(*text)) out.push_back({saved, std::move(note)});
  return out;
}

int VerifyExportDirectory(const std::string& dir_text, const std::vector<std::string>& key_texts,
                          const std::string& saved, bool check_canonical, Session& s) {
  const fs::path dir(dir_text);
  std::error_code ec;
  if (!fs::is_regular_file(dir / audit::kExportEventsFile, ec)) {
    return s.Fail(fmt::format("{} is not an export directory: it has no {}", dir_text,
                              audit::kExportEventsFile),
                  kExitUsage);
  }
  auto trusted = TrustedKeys(key_texts);
  if (!trusted.ok()) return s.Fail(trusted.status().message(), kExitUsage);
  audit::EngineOptions options{.trusted_keys = std::move(*trusted),
                               .check_canonical = check_canonical,
                               .position_name = "line"};
  std::vector<std::string> key_problems;
  if (Result<std::string> keys = ReadWholeFile(dir / audit::kExportKeysFile); keys.ok()) {
    audit::KeyFile file = audit::ParseKeyFile(*keys);
    options.published_keys = std::move(file.keys);
    key_problems = std::move(file.problems);
  }
  audit::LogVerifier v(std::move(options));
  for (std::string& problem : key_problems) {
    v.AddFinding(audit::FindingKind::kMalformed, 0, std::move(problem));
  }
  std::vector<std::pair<uint64_t, fs::path>> checkpoints;
  for (const auto& entry : fs::directory_iterator(dir / audit::kExportCheckpointsDir, ec)) {
    const std::string name = entry.path().filename().string();
    uint64_t size = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), size);
    if (err != std::errc() || end != name.data() + name.size()) {
      v.AddFinding(
          audit::FindingKind::kMalformed, 0,
          fmt::format("{}/{} is not a checkpoint's size", audit::kExportCheckpointsDir, name));
      continue;
    }
    checkpoints.emplace_back(size, entry.path());
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  for (const auto& [size, path] : checkpoints) {
    Result<std::string> note = ReadWholeFile(path);
    const std::string where = fmt::format("{}/{}", audit::kExportCheckpointsDir, size);
    if (!note.ok()) {
      v.AddFinding(audit::FindingKind::kMalformed, 0, note.status().message());
      continue;
    }
    v.AddCheckpoint({where, *note});
  }
  Result<std::vector<audit::CheckpointSource>> saved_checkpoints = SavedCheckpoints(saved);
  if (!saved_checkpoints.ok()) return s.Fail(saved_checkpoints.status().message(), kExitUsage);
  for (const audit::CheckpointSource& c : *saved_checkpoints) v.SetSavedCheckpoint(c);
  if (fs::is_directory(dir / "tile" / "0", ec)) v.SetLeafHashReader(ExportLeafReader(dir));

  std::FILE* file = std::fopen((dir / audit::kExportEventsFile).c_str(), "rb");
  if (file == nullptr) {
    return s.Fail(fmt::format("cannot read {}", (dir / audit::kExportEventsFile).string()),
                  kExitRefused);
  }
  audit::ExportEventReader reader(v);
  std::string buffer(kReadChunk, '\0');
  while (true) {
    const size_t got = std::fread(buffer.data(), 1, buffer.size(), file);
    if (got == 0) break;
    reader.Feed(std::string_view(buffer.data(), got));
  }
  const bool read_error = std::ferror(file) != 0;
  std::fclose(file);
  if (read_error) {
    return s.Fail(fmt::format("cannot read {}", (dir / audit::kExportEventsFile).string()),
                  kExitRefused);
  }
  reader.Finish();
  return PrintVerification(v.Finish(), fmt::format("the export in {}", dir_text), s);
}

int VerifyStoreWithEngine(store::Store& store, const std::string& what,
                          std::optional<int64_t> acked, const std::vector<std::string>& key_texts,
                          const std::string& saved, bool check_canonical, bool chain_digest,
                          Session& s) {
  auto trusted = TrustedKeys(key_texts);
  if (!trusted.ok()) return s.Fail(trusted.status().message(), kExitUsage);
  audit::LogVerifier v({.trusted_keys = std::move(*trusted),
                        .check_canonical = check_canonical,
                        .chain_digest = chain_digest});
  Result<std::vector<audit::CheckpointSource>> saved_checkpoints = SavedCheckpoints(saved);
  if (!saved_checkpoints.ok()) return s.Fail(saved_checkpoints.status().message(), kExitUsage);
  for (const audit::CheckpointSource& c : *saved_checkpoints) v.SetSavedCheckpoint(c);
  Status read = store.Read([&](store::Tx& tx) { return audit::FeedStoredLog(tx, v); });
  if (!read.ok()) {
    return s.Fail(fmt::format("cannot read the audit log of {}: {}", what, read.message()),
                  kExitRefused);
  }
  audit::VerificationReport report = v.Finish();
  if (acked && report.last_seq < *acked) {
    report.findings.push_back(
        {audit::FindingKind::kTruncated, report.last_seq + 1,
         fmt::format("log truncated: it ends at event {}, but {} were acknowledged (the head "
                     "file): committed events were lost",
                     report.last_seq, *acked)});
  }
  return PrintVerification(report, what, s);
}

void AddAuditExportCommand(CLI::App& audit, Action& chosen) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* exp = audit.add_subcommand(
      "export",
      "Write the audit log into a new directory: events.jsonl (the stored bytes, one event a "
      "line), its checkpoints and keys; other formats with --format (reads the store directly)");
  exp->footer(
      "DIR/events.jsonl holds each event's stored canonical bytes, one a line in seq order: the "
      "Merkle tree's leaves, so anyone can recompute the root from it. `vouch audit verify DIR` "
      "checks an export offline. --format csv|cloudtrail|ocsf (repeatable, or comma-separated) "
      "adds events.csv, cloudtrail.json ({\"Records\":[…]}) or ocsf.json (OCSF API Activity, "
      "class 6003): derived views for other tools, not verified. See docs/operations.md.");
  auto* store = exp->add_option("--store", a->store, "sqlite://PATH or postgresql://…");
  exp->add_option("--data-dir", a->data_dir, "A server's data directory (SQLite DIR/vouch.db)")
      ->excludes(store);
  exp->add_option("--out", a->out, "A new (or empty) directory to write")->required();
  AddRepeated(*exp, "--format", a->formats, "Also write csv, cloudtrail or ocsf");
  OnSelect(*exp, chosen, [a](Session& s, const Clock&) { return Export(*a, s); });
}

}  // namespace vouch::cli
