// backup, restore, migrate, audit verify: admin commands that open a store directly instead of
// talking HTTP to a server (the global --server and --token do not apply). They print through the
// Session's streams and exit 0 when done, 1 when refused or a check fails, 2 on a usage error.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "vouch/audit/verify.h"
#include "vouch/cli/audit_export.h"
#include "vouch/cli/audit_proof.h"
#include "vouch/cli/commands.h"
#include "vouch/storage/copy.h"
#include "vouch/storage/open.h"
#include "vouch/store/sqlite/acked_head.h"
#include "vouch/store/sqlite/sqlite_backup.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kDatabaseFile[] = "vouch.db";
constexpr char kOperationsDoc[] = "docs/operations.md";

int ExitCodeFor(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRefused;
}

// A name beside `path` for a file that becomes `path` once it is complete and checked.
std::string TempNameBeside(const fs::path& path) {
  fs::path dir = path.parent_path();
  return (dir / fmt::format(".{}.tmp-{}", path.filename().string(), HexEncode(RandomBytes(6))))
      .string();
}

void RemoveQuietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

struct CheckedFile {
  int schema_version = 0;
  // Every stored event, counted and digested even when the log does not verify; then `problem`
  // says why (the first bad event).
  audit::LogInspection log;
};

// What backup and restore accept: a vouch database this binary can read, that passes SQLite's
// integrity check and whose audit log verifies. A log that does not verify is reported in
// `log.problem`, not as a failure: with --unverified the caller goes on.
Result<CheckedFile> CheckSqliteFile(const std::string& path) {
  VOUCH_ASSIGN_OR_RETURN(auto opened, store::SqliteStore::Open({.path = path, .read_only = true}));
  VOUCH_TRY(opened->CheckIntegrity());
  CheckedFile out;
  VOUCH_ASSIGN_OR_RETURN(out.schema_version, opened->SchemaVersion());
  VOUCH_ASSIGN_OR_RETURN(out.log, audit::Inspect(*opened));
  return out;
}

// The Merkle root replaced the hash-chain "log digest" of earlier versions (issue 14); `audit
// verify --chain-digest` still prints the chain, for a digest kept from an older backup.
std::string Summary(int64_t count, const std::string& root) {
  return fmt::format("{} events, Merkle root {}", count, root);
}
std::string Summary(const audit::LogInspection& log) { return Summary(log.count, log.head_digest); }

// The loud part of --unverified: on stderr, what did not verify and what the copy is.
void WarnUnverified(Session& s, std::string_view what, std::string_view path,
                    const audit::LogInspection& log) {
  s.err() << fmt::format(
      "vouch: WARNING: UNVERIFIED {}: the audit log of {} does not verify: {}\n"
      "vouch: WARNING: it was copied as it is (--unverified): {}. Do not take it for a verified "
      "record; find out why the log does not verify (\"Backups and restore\" in {}).\n",
      what, path, log.problem.message(), Summary(log), kOperationsDoc);
}

// --- audit verify

struct VerifyArgs {
  std::string store;
  std::string data_dir;
  bool chain_digest = false;  // also print the hash-chain digest of earlier versions
  bool hash_only = false;     // skip the canonical-form check
  std::string source;         // FILE: an export directory, or a tlog-proof file (audit prove)
  ProofFileArgs proof;        // --key (trusted verifier keys), --event
  ServerVerifyArgs server;    // --server (verify's own)
  std::string checkpoint;     // --checkpoint SAVED
};

int VerifyAudit(const VerifyArgs& a, Session& s) {
  auto where = StoreFrom(a.store, a.data_dir);
  if (!where.ok()) return s.Fail(where.status().message(), ExitCodeFor(where.status()));
  // Read before the log: a running server records its head after each commit, so the head read
  // first is never above the log read after it.
  Result<std::optional<int64_t>> acked = std::optional<int64_t>();
  if (where->kind == store::StoreKind::kSqlite) {
    acked = store::ReadAckedHead(store::AckedHeadPath(where->sqlite_path));
  }
  if (!acked.ok()) return s.Fail(acked.status().message(), kExitRefused);
  Result<std::unique_ptr<store::Store>> opened = [&]() -> Result<std::unique_ptr<store::Store>> {
    if (where->kind == store::StoreKind::kSqlite) {
      // Read-only: no migration, no lock, no writer; a running server is not disturbed.
      VOUCH_ASSIGN_OR_RETURN(
          auto sqlite, store::SqliteStore::Open({.path = where->sqlite_path, .read_only = true}));
      return std::unique_ptr<store::Store>(std::move(sqlite));
    }
    // Reported as found: a tree the store lacks is not built here.
    return store::OpenStore(
        *where, {.pg_pool_size = 1, .pg_statement_timeout_ms = 0, .build_audit_tree = false});
  }();
  if (!opened.ok()) return s.Fail(opened.status().message(), ExitCodeFor(opened.status()));
  // The verification engine (audit/verify.h): the events, the stored tree, the checkpoints.
  return VerifyStoreWithEngine(**opened, where->Describe(), *acked, a.proof.keys, a.checkpoint,
                               !a.hash_only, a.chain_digest, s);
}

// --- backup

struct BackupArgs {
  std::string store;
  std::string data_dir;
  std::string out;
  bool force = false;
  bool unverified = false;  // write the copy even when its audit log does not verify
};

int Backup(const BackupArgs& a, Session& s) {
  auto where = StoreFrom(a.store, a.data_dir);
  if (!where.ok()) return s.Fail(where.status().message(), ExitCodeFor(where.status()));
  if (where->kind != store::StoreKind::kSqlite) {
    return s.Fail(fmt::format("vouch backup copies a SQLite store; back up PostgreSQL with its own "
                              "tools (pg_dump, or pg_basebackup with WAL archiving): see \"Backups "
                              "and restore\" in {}",
                              kOperationsDoc),
                  kExitUsage);
  }
  const fs::path out(a.out);
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (fs::equivalent(out, where->sqlite_path, ec)) {
      return s.Fail(fmt::format("{} is the database itself; write the backup elsewhere", a.out),
                    kExitUsage);
    }
    if (!a.force) {
      return s.Fail(fmt::format("{} exists; pass --force to replace it", a.out), kExitRefused);
    }
  }
  const std::string temp = TempNameBeside(out);
  if (Status copied = store::BackupSqliteFile(where->sqlite_path, temp); !copied.ok()) {
    return s.Fail(fmt::format("cannot back up {}: {}", where->sqlite_path, copied.message()),
                  kExitRefused);
  }
  auto checked = CheckSqliteFile(temp);
  if (!checked.ok()) {
    RemoveQuietly(temp);
    return s.Fail(fmt::format("the copy of {} does not verify, so no backup was written: {}",
                              where->sqlite_path, checked.status().message()),
                  kExitRefused);
  }
  const bool verified = checked->log.problem.ok();
  if (!verified && !a.unverified) {
    RemoveQuietly(temp);
    return s.Fail(fmt::format("the copy of {} does not verify, so no backup was written: {} (to "
                              "write it anyway, unverified, pass --unverified)",
                              where->sqlite_path, checked->log.problem.message()),
                  kExitRefused);
  }
  if (Status renamed = store::RenameDurably(temp, a.out, a.force); !renamed.ok()) {
    RemoveQuietly(temp);
    return s.Fail(renamed.message(), kExitRefused);
  }
  s.out() << fmt::format("backup {}: {} (schema version {}){}\n", a.out, Summary(checked->log),
                         checked->schema_version, verified ? "" : ", UNVERIFIED");
  if (!verified) WarnUnverified(s, "BACKUP " + a.out, where->sqlite_path, checked->log);
  s.out() << "The master key is not in the backup: keep a copy of it (<data-dir>/master-key, or "
             "the --master-key-file the server is given) with the backup; without it the secrets "
             "in the backup cannot be opened.\n";
  return kExitOk;
}

// --- restore

struct RestoreArgs {
  std::string from;
  std::string data_dir;
  bool force = false;
  bool unverified = false;  // restore a copy whose audit log does not verify
};

Status RemoveIfPresent(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return Unavailable(fmt::format("cannot remove {}: {}", path.string(), ec.message()));
  return OkStatus();
}

int Restore(const RestoreArgs& a, Session& s) {
  auto checked = CheckSqliteFile(a.from);
  if (!checked.ok()) {
    return s.Fail(fmt::format("refusing to restore {}: {}; nothing was changed", a.from,
                              checked.status().message()),
                  kExitRefused);
  }
  const bool verified = checked->log.problem.ok();
  if (!verified && !a.unverified) {
    return s.Fail(fmt::format("refusing to restore {}: {}; nothing was changed (to restore it "
                              "anyway, unverified, pass --unverified)",
                              a.from, checked->log.problem.message()),
                  kExitRefused);
  }
  const fs::path dir(a.data_dir);
  std::error_code ec;
  if (fs::create_directories(dir, ec)) {
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  } else if (ec) {
    return s.Fail(fmt::format("cannot create {}: {}", a.data_dir, ec.message()), kExitRefused);
  }
  const fs::path db = dir / kDatabaseFile;
  // The lock every server on this directory holds: while we have it, none can start.
  auto lock = store::SqliteFileLock::Acquire(db.string());
  if (!lock.ok()) {
    return s.Fail(fmt::format("refusing to restore into {}: {}; nothing was changed", a.data_dir,
                              lock.status().message()),
                  kExitRefused);
  }
  if (fs::exists(db, ec) && !a.force) {
    return s.Fail(
        fmt::format("refusing to restore: {} exists; pass --force to replace it", db.string()),
        kExitRefused);
  }
  const std::string temp = TempNameBeside(db);
  if (Status copied = store::BackupSqliteFile(a.from, temp); !copied.ok()) {
    return s.Fail(fmt::format("cannot copy {}: {}", a.from, copied.message()), kExitRefused);
  }
  auto copy = CheckSqliteFile(temp);
  if (!copy.ok() || copy->log.count != checked->log.count ||
      copy->log.head_digest != checked->log.head_digest) {
    RemoveQuietly(temp);
    return s.Fail(
        fmt::format("the copy of {} in {} does not match what was checked ({}); nothing "
                    "was changed",
                    a.from, a.data_dir, copy.ok() ? Summary(copy->log) : copy.status().message()),
        kExitRefused);
  }
  // The replaced database's write-ahead log must not be applied to the restored one.
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    if (Status removed = RemoveIfPresent(db.string() + suffix); !removed.ok()) {
      RemoveQuietly(temp);
      return s.Fail(removed.message(), kExitRefused);
    }
  }
  if (Status renamed = store::RenameDurably(temp, db.string(), true); !renamed.ok()) {
    RemoveQuietly(temp);
    return s.Fail(renamed.message(), kExitRefused);
  }
  // The acknowledged head now is the restored log (the server refuses a log shorter than it).
  if (Status reset = store::ResetAckedHead(store::AckedHeadPath(db.string()), checked->log.count);
      !reset.ok()) {
    return s.Fail(fmt::format("restored {}, but cannot reset its acknowledged head: {}",
                              db.string(), reset.message()),
                  kExitRefused);
  }
  s.out() << fmt::format("restored {} into {}: {} (schema version {}){}\n", a.from, db.string(),
                         Summary(checked->log), checked->schema_version,
                         verified ? "" : ", UNVERIFIED");
  if (!verified) WarnUnverified(s, "RESTORE into " + db.string(), a.from, checked->log);
  s.out() << fmt::format(
      "The master key is not in the database: put the one kept with this backup at {} (or give "
      "the server --master-key-file) before starting it, or the secrets cannot be opened.\n",
      (dir / "master-key").string());
  return kExitOk;
}

// --- migrate

struct MigrateArgs {
  std::string from;
  std::string to;
};

void PrintReport(const store::CopyReport& r, const store::StoreLocation& from,
                 const store::StoreLocation& to, std::ostream& out) {
  out << fmt::format("migrated {} to {} (schema version {})\n", from.Describe(), to.Describe(),
                     r.schema_version);
  out << fmt::format("  {:<24} {:>12} {:>12}\n", "table", "sqlite", "postgresql");
  for (const store::TableCopy& t : r.tables) {
    out << fmt::format("  {:<24} {:>12} {:>12}\n", t.table, t.source_rows, t.target_rows);
  }
  for (const std::string& note : r.notes) out << "note: " << note << "\n";
  out << fmt::format("audit log: {} events, Merkle root {} (the same on both sides)\n",
                     r.log.events, r.log.digest);
  if (const auto& c = r.log.checkpoint; c) {
    out << fmt::format(
        "audit log: latest checkpoint at size {}, root {} (the same on both sides, signatures and "
        "cosignatures alike; the root of the first {} events on each)\n",
        c->size, c->root, c->size);
  } else {
    out << "audit log: no checkpoint yet\n";
  }
  out << "The secrets in the database are sealed under the master key: give every server on "
         "PostgreSQL the key this SQLite data directory used (--master-key-file "
         "<data-dir>/master-key).\n";
}

int Migrate(const MigrateArgs& a, Session& s) {
  auto from = store::ParseStoreUri(a.from);
  if (!from.ok()) return s.Fail("--from: " + from.status().message(), kExitUsage);
  auto to = store::ParseStoreUri(a.to);
  if (!to.ok()) return s.Fail("--to: " + to.status().message(), kExitUsage);
  if (from->kind != store::StoreKind::kSqlite || to->kind != store::StoreKind::kPostgres) {
    return s.Fail(
        "migrate copies from SQLite to PostgreSQL: --from sqlite://PATH --to "
        "postgresql://USER@HOST:PORT/DB",
        kExitUsage);
  }
  auto report = store::CopySqliteToPostgres(
      {.sqlite_path = from->sqlite_path,
       .target = {.dsn = to->dsn, .pool_size = 1, .statement_timeout_ms = 0},
       .check_log = audit::VerifiedLogSummary});
  if (!report.ok()) {
    return s.Fail(fmt::format("migration from {} to {} refused: {}; no rows were written",
                              from->Describe(), to->Describe(), report.status().message()),
                  ExitCodeFor(report.status()));
  }
  PrintReport(*report, *from, *to, s.out());
  return kExitOk;
}

}  // namespace

// `--store URI` or `--data-dir DIR` (the SQLite file DIR/vouch.db): exactly one of them.
Result<store::StoreLocation> StoreFrom(const std::string& uri, const std::string& data_dir) {
  if (!uri.empty() && !data_dir.empty()) {
    return InvalidArgument("give --store or --data-dir, not both");
  }
  if (!data_dir.empty()) {
    return store::StoreLocation{
        .kind = store::StoreKind::kSqlite,
        .sqlite_path = (std::filesystem::path(data_dir) / "vouch.db").string()};
  }
  if (uri.empty()) return InvalidArgument("give --store URI or --data-dir DIR");
  return store::ParseStoreUri(uri);
}

void AddAuditVerifyCommand(CLI::App& audit, Action& chosen) {
  auto a = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit.add_subcommand(
      "verify",
      "Check an audit log and print its Merkle root: a store (--data-dir/--store, read directly), "
      "an export directory, a proof file (audit prove) or a live server (--server)");
  verify->footer(
      "Sources: --data-dir DIR (SQLite, opened read-only beside a running server) or --store "
      "(sqlite://PATH or a postgresql:// DSN) read the database itself: the log is gapless, "
      "canonical (RFC 8785), each event is its own number and the stored Merkle tree is the tree "
      "of the stored events; it prints the Merkle root (RFC 9162, the root a checkpoint signs, in "
      "hex), and --chain-digest also the hash-chain \"log digest\" earlier versions printed, to "
      "compare with one kept from an older backup. FILE, a tlog-proof file written by "
      "`audit prove`, is checked offline against --key (the log's verifier key, or a file of "
      "them). --server URL (given to verify itself: the global --server and VOUCH_SERVER never "
      "select it) checks a live server's log from its published checkpoint, keys, entry bundles "
      "(the auditor role or admin, with the usual credentials) and hash tiles; --key names a key "
      "the checkpoint must be signed by, --checkpoint SAVED a checkpoint saved earlier that the "
      "log must extend. Exit 0 intact, 1 not, 2 usage, 3 unreachable.");
  auto* store = verify->add_option("--store", a->store, "sqlite://PATH or postgresql://…");
  verify->add_option("--data-dir", a->data_dir, "A server's data directory (SQLite DIR/vouch.db)")
      ->excludes(store);
  verify->add_flag("--chain-digest", a->chain_digest,
                   "Also print the hash-chain log digest of earlier versions");
  verify->add_option("FILE", a->source,
                     "An export directory (audit export --out DIR) or a tlog-proof file (audit "
                     "prove)");
  AddRepeated(*verify, "--key", a->proof.keys,
              "A verifier key you trust (<name>+<id>+<key>, or a file of them); then only "
              "checkpoints it signed count");
  verify->add_option(
      "--event", a->proof.event_file,
      "With a proof FILE: the event's stored bytes (default: the file's extra line)");
  verify->add_option("--server", a->server.server, "With verify: the server whose log to check");
  verify->add_option("--checkpoint", a->checkpoint,
                     "A checkpoint saved earlier (a signed note file): the log must hold it");
  verify->add_flag("--hash-only", a->hash_only,
                   "Skip the canonical-form check (the hash pass alone, for benchmarks)");
  OnSelect(*verify, chosen, [a](Session& s, const Clock&) {
    const bool stored = !a->store.empty() || !a->data_dir.empty();
    const int sources =
        (stored ? 1 : 0) + (a->source.empty() ? 0 : 1) + (a->server.server.empty() ? 0 : 1);
    if (sources == 0) {
      return s.Fail(
          "audit verify needs a source: --data-dir DIR, --store URI, an export DIR, a proof FILE "
          "or --server URL (the global --server and VOUCH_SERVER never select it)",
          kExitUsage);
    }
    if (sources > 1) {
      return s.Fail(
          "audit verify takes one source: --data-dir/--store, an export DIR, a proof FILE or "
          "--server",
          kExitUsage);
    }
    if (!a->server.server.empty()) {
      ServerVerifyArgs server = a->server;
      server.keys = a->proof.keys;
      server.saved_checkpoint = a->checkpoint;
      return VerifyServerCommand(server, s);
    }
    if (!a->source.empty()) {
      std::error_code ec;
      if (!fs::exists(a->source, ec)) {
        return s.Fail(fmt::format("{}: no such export directory or proof file", a->source),
                      kExitUsage);
      }
      if (fs::is_directory(a->source, ec)) {
        return VerifyExportDirectory(a->source, a->proof.keys, a->checkpoint, !a->hash_only, s);
      }
      ProofFileArgs proof = a->proof;
      proof.file = a->source;
      return VerifyProofFileCommand(proof, s);
    }
    return VerifyAudit(*a, s);
  });
}

void AddAdminCommands(CLI::App& app, Action& chosen) {
  auto b = std::make_shared<BackupArgs>();
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Copy a SQLite registry into FILE (consistent while the server runs) and verify the copy");
  auto* store = backup->add_option("--store", b->store, "sqlite://PATH of the database");
  backup->add_option("--data-dir", b->data_dir, "The server's data directory (DIR/vouch.db)")
      ->excludes(store);
  backup->add_option("--out", b->out, "The backup file to write (created with mode 0600)")
      ->required();
  backup->add_flag("--force", b->force, "Replace FILE if it exists");
  backup->add_flag("--unverified", b->unverified,
                   "Write the copy even if its audit log does not verify (says why on stderr)");
  OnSelect(*backup, chosen, [b](Session& s, const Clock&) { return Backup(*b, s); });

  auto r = std::make_shared<RestoreArgs>();
  CLI::App* restore = app.add_subcommand(
      "restore",
      "Verify a backup and make it the database of a data directory no server is running on");
  restore->add_option("--from", r->from, "The backup file")->required();
  restore->add_option("--data-dir", r->data_dir, "The data directory (DIR/vouch.db is replaced)")
      ->required();
  restore->add_flag("--force", r->force, "Replace an existing DIR/vouch.db");
  restore->add_flag("--unverified", r->unverified,
                    "Restore a backup even if its audit log does not verify (says why on stderr)");
  OnSelect(*restore, chosen, [r](Session& s, const Clock&) { return Restore(*r, s); });

  auto m = std::make_shared<MigrateArgs>();
  CLI::App* migrate = app.add_subcommand(
      "migrate",
      "Copy a whole SQLite registry, audit log included, into an empty PostgreSQL database and "
      "verify the copy");
  migrate->add_option("--from", m->from, "sqlite://PATH (read-only; a server may keep running)")
      ->required();
  migrate->add_option("--to", m->to, "postgresql://USER@HOST:PORT/DB, an empty database")
      ->required();
  OnSelect(*migrate, chosen, [m](Session& s, const Clock&) { return Migrate(*m, s); });
}

}  // namespace vouch::cli
