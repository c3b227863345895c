#include "vouch/server/serve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "vouch/app/app.h"
#include "vouch/app/checkpoint_file.h"
#include "vouch/server/cli_hint.h"
#include "vouch/server/http_server.h"
#include "vouch/server/logging.h"
#include "vouch/server/loopback.h"
#include "vouch/service/notify_recipients.h"
#include "vouch/service/secrets.h"
#include "vouch/storage/open.h"
#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/sqlite/acked_head.h"
#include "vouch/tlog/cosignature.h"
#include "vouch/util/files.h"
#include "vouch/util/json.h"
#include "vouch/util/net.h"

namespace vouch::server {
namespace {

struct ServeConfig {
  std::string data_dir = "./vouch-data";
  std::string store;  // empty: sqlite://<data_dir>/vouch.db
  std::string migrate_as;
  std::string master_key_file;
  int pg_pool_size = store::DefaultPoolSize();  // from the machine's cores
  std::string pg_statement_timeout = "30s";
  std::string trusted_proxies;
  std::string default_permission = "READ";
  std::string auth_cache_ttl = "10s";
  int max_failed_logins = 10;
  std::string listen = "127.0.0.1:5000";
  std::string tls_cert;
  std::string tls_key;
  int threads = 2;
  int workers = 64;
  int read_workers = 4;  // ServeMain: twice the cores, at least 4
  size_t max_body_bytes = 1 << 20;
  std::string request_timeout = "30s";
  std::string drain_timeout = "30s";
  std::string denial_window = "60s";
  std::string idempotency_ttl = "24h";
  std::string log_format = "text";
  std::string log_level = "info";
  // Webhook delivery (issue 13).
  std::string public_url;
  int webhook_workers = 2;
  std::string webhook_poll = "1s";
  bool webhook_allow_private = false;
  std::string webhook_connect_timeout = "5s";
  std::string webhook_timeout = "15s";
  std::string webhook_first_retry = "2s";
  std::string webhook_max_backoff = "5m";
  int webhook_max_attempts = 0;
  double webhook_busy_rate = 100;
  std::string webhook_max_age = "24h";
  std::string webhook_ca_file;
  std::string notification_retention = "30d";
  // E-mail notifications (issue 13): the SMTP relay, the sender, the credentials.
  std::string smtp_url;
  std::string smtp_from;
  std::string smtp_credentials_file;
  std::string smtp_starttls = "required";
  std::string smtp_timeout = "30s";
  // Witnessing (issue 14): the witnesses' submission prefixes and cosignature keys.
  std::vector<std::string> witnesses;
  std::vector<std::string> witness_keys;
  std::string witness_timeout = "15s";
  std::string witness_ca_file;
  // The audit log's checkpoints (issue 14).
  std::string log_origin;
  std::string checkpoint_interval = "60s";
  int64_t checkpoint_events = 1000;
  std::string checkpoint_file;
  bool init = false;                // SQLite: make a new registry beside a key, token or head
  bool skip_check = false;          // SQLite: no PRAGMA quick_check at start
  bool accept_shorter_log = false;  // SQLite: serve a log shorter than the acknowledged head
  // Benchmarks only (bench/audit_tree.sh): no Merkle tree updates; the store is marked so that no
  // later start accepts it and `vouch audit verify` fails on it. Hidden from --help.
  bool bench_audit_tree_off = false;
};

Result<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(fmt::format("--listen must be HOST:PORT, not '{}'", listen));
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(std::string(listen.substr(colon + 1)), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return InvalidArgument(fmt::format("--listen port must be 0..65535, not in '{}'", listen));
  }
  return std::pair(host, static_cast<uint16_t>(port));
}

int Fail(const Status& s) {
  std::fprintf(stderr, "vouch serve: %s\n", s.message().c_str());
  return 1;
}

// Whether the SQLite database at `path` holds anything: a non-empty file, or a non-empty
// write-ahead log (which SQLite recovers from).
bool HoldsDatabase(const std::string& path) {
  auto size = [](const std::string& p) -> uintmax_t {
    std::error_code ec;
    uintmax_t n = std::filesystem::file_size(p, ec);
    return ec ? 0 : n;
  };
  return size(path) > 0 || size(path + "-wal") > 0;
}

// A SQLite data directory whose database is missing or empty, but which holds what a registry
// leaves behind (its master key, its admin token, its acknowledged head), lost its registry: it is
// not silently replaced by a new, empty one. --init makes the new one on purpose (keeping the
// master key, removing the stale token and head); --init beside a database is refused.
Status CheckSqliteDataDir(const ServeConfig& c, const std::string& db,
                          const std::filesystem::path& data_dir) {
  if (HoldsDatabase(db)) {
    if (!c.init) return OkStatus();
    return FailedPrecondition(fmt::format(
        "refusing --init: {} holds a registry; --init only makes a new one where the database is "
        "missing or empty, so start without it",
        db));
  }
  std::vector<std::filesystem::path> left;
  for (const std::filesystem::path& p : {data_dir / "master-key", data_dir / "admin-token",
                                         std::filesystem::path(store::AckedHeadPath(db))}) {
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) left.push_back(p);
  }
  if (left.empty()) return OkStatus();
  std::string names;
  for (const auto& p : left) names += (names.empty() ? "" : ", ") + p.filename().string();
  std::error_code ec;
  const bool exists = std::filesystem::exists(db, ec);
  if (!c.init) {
    return FailedPrecondition(fmt::format(
        "refusing to start: the database {} is {}, but {} holds {} of a registry that was there; "
        "restore it (vouch restore --from BACKUP --data-dir {}), or start once with --init to make "
        "a new, empty registry",
        db, exists ? "empty" : "missing", data_dir.string(), names, data_dir.string()));
  }
  for (const std::filesystem::path& p :
       {data_dir / "admin-token", std::filesystem::path(store::AckedHeadPath(db))}) {
    std::filesystem::remove(p, ec);
    if (ec)
      return Unavailable(fmt::format("--init: cannot remove {}: {}", p.string(), ec.message()));
  }
  spdlog::warn("--init: making a new, empty registry in {} (the old admin token and head removed)",
               db);
  return OkStatus();
}

// The master key: --master-key-file, else VOUCH_MASTER_KEY, else (SQLite only) the file
// <data-dir>/master-key, made on first start. A PostgreSQL store is shared by servers that must all
// hold the same key, so there it is never made up.
Result<std::string> LoadMasterKey(const ServeConfig& c, const store::StoreLocation& where,
                                  const std::filesystem::path& data_dir) {
  std::filesystem::path file = c.master_key_file;
  if (file.empty()) {
    if (const char* env = std::getenv("VOUCH_MASTER_KEY"); env != nullptr && *env != '\0') {
      auto key = service::ParseMasterKey(env);
      if (!key.ok()) return key.status().WithContext("VOUCH_MASTER_KEY");
      return key;
    }
    if (where.kind == store::StoreKind::kPostgres) {
      return FailedPrecondition(
          "a PostgreSQL store needs the master key that every server sharing it is given: "
          "--master-key-file FILE or VOUCH_MASTER_KEY (make one with `openssl rand -base64 32`)");
    }
    file = data_dir / "master-key";
    if (!std::filesystem::exists(file)) {
      // A new key would not open the secrets sealed in an existing database: write nothing.
      if (HoldsDatabase(where.sqlite_path)) {
        return FailedPrecondition(fmt::format(
            "refusing to start: the master key {} is missing, but {} holds a registry whose "
            "secrets it seals; put back the key kept with its backups, or give --master-key-file "
            "or VOUCH_MASTER_KEY (nothing was written)",
            file.string(), where.sqlite_path));
      }
      VOUCH_TRY(WriteNewSecretFile(file, service::NewMasterKeyText()));
      spdlog::info("made a new master key in {}; keep it with your backups", file.string());
    }
  }
  std::string text;
  {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr) {
      return Unavailable(fmt::format("cannot read the master key file {}: {}", file.string(),
                                     std::strerror(errno)));
    }
    char buf[512];
    size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    text.assign(buf, n);
  }
  auto key = service::ParseMasterKey(text);
  if (!key.ok()) return key.status().WithContext(file.string());
  return key;
}

// With --migrate-as: brings the schema up to date as the owner role and grants the role of
// --store what a server needs.
Status MigrateAsOwner(const ServeConfig& c, const store::StoreLocation& where) {
  VOUCH_ASSIGN_OR_RETURN(store::StoreLocation owner, store::ParseStoreUri(c.migrate_as));
  if (owner.kind != store::StoreKind::kPostgres || where.kind != store::StoreKind::kPostgres) {
    return InvalidArgument(
        "--migrate-as takes the owner role's PostgreSQL DSN, with a PostgreSQL "
        "--store");
  }
  std::string app_role = store::DsnUser(where.dsn);
  if (app_role.empty()) {
    return InvalidArgument(
        "with --migrate-as, the --store DSN must name its user (the role to "
        "grant)");
  }
  VOUCH_ASSIGN_OR_RETURN(int version,
                         store::PostgresStore::MigrateSchema({.dsn = owner.dsn}, app_role));
  spdlog::info("schema at version {} (migrated as {}), granted to {}", version, owner.Describe(),
               app_role);
  return OkStatus();
}

// The webhook flags, checked.
Result<app::WebhookOptions> WebhookFlags(const ServeConfig& c) {
  app::WebhookOptions o;
  struct Duration {
    const char* flag;
    const std::string& text;
    TimeMs* out;
    TimeMs min;
  };
  const Duration durations[] = {
      {"--webhook-poll", c.webhook_poll, &o.delivery.poll_ms, 10},
      {"--webhook-connect-timeout", c.webhook_connect_timeout, &o.connect_timeout_ms, 1},
      {"--webhook-timeout", c.webhook_timeout, &o.timeout_ms, 1},
      {"--webhook-first-retry", c.webhook_first_retry, &o.delivery.first_retry_ms, 1},
      {"--webhook-max-backoff", c.webhook_max_backoff, &o.delivery.max_backoff_ms, 1},
      {"--webhook-max-age", c.webhook_max_age, &o.delivery.max_age_ms, 1},
      {"--notification-retention", c.notification_retention, &o.retention_ms, 1000},
  };
  for (const Duration& d : durations) {
    auto parsed = ParseDurationMs(d.text);
    if (!parsed.ok()) return parsed.status().WithContext(d.flag);
    *d.out = *parsed;
    if (*d.out < d.min) {
      return InvalidArgument(fmt::format("{} must be at least {} ms", d.flag, d.min));
    }
  }
  if (o.delivery.max_backoff_ms < o.delivery.first_retry_ms) {
    return InvalidArgument("--webhook-max-backoff is shorter than --webhook-first-retry");
  }
  if (c.webhook_workers < 0 || c.webhook_workers > 64) {
    return InvalidArgument("--webhook-workers must be 0..64");
  }
  if (c.webhook_max_attempts < 0) return InvalidArgument("--webhook-max-attempts is negative");
  if (!(c.webhook_busy_rate >= 0)) return InvalidArgument("--webhook-busy-rate is negative");
  if (!c.public_url.empty() && !c.public_url.starts_with("https://") &&
      !c.public_url.starts_with("http://")) {
    return InvalidArgument("--public-url must be an http:// or https:// URL");
  }
  o.delivery.workers = c.webhook_workers;
  o.delivery.max_attempts = c.webhook_max_attempts;
  o.delivery.busy_rate = c.webhook_busy_rate;
  o.delivery.public_url = c.public_url;
  while (o.delivery.public_url.ends_with('/')) o.delivery.public_url.pop_back();
  o.allow_private = c.webhook_allow_private;
  o.ca_file = c.webhook_ca_file;
  return o;
}

// The --witness* flags, checked.
Result<service::WitnessOptions> WitnessFlags(const ServeConfig& c) {
  service::WitnessOptions o;
  if (c.witnesses.empty() != c.witness_keys.empty()) {
    return InvalidArgument(
        c.witnesses.empty()
            ? "--witness-key needs --witness, the URL the checkpoints are submitted to"
            : "--witness needs --witness-key: the witness's cosignature verifier key, against "
              "which every cosignature it returns is checked");
  }
  for (const std::string& url : c.witnesses) {
    if (!url.starts_with("https://") && !url.starts_with("http://")) {
      return InvalidArgument(
          fmt::format("--witness must be an http:// or https:// URL, not '{}'", url));
    }
    o.urls.push_back(url);
  }
  for (const std::string& key : c.witness_keys) {
    auto parsed = tlog::ParseCosignatureVerifierKey(key);
    if (!parsed.ok()) return parsed.status().WithContext("--witness-key");
    o.keys.push_back(std::move(parsed).value());
  }
  auto timeout = ParseDurationMs(c.witness_timeout);
  if (!timeout.ok()) return timeout.status().WithContext("--witness-timeout");
  if (*timeout < 1000) return InvalidArgument("--witness-timeout is under a second");
  o.timeout_ms = *timeout;
  o.connect_timeout_ms = std::min<TimeMs>(*timeout, 5000);
  o.ca_file = c.witness_ca_file;
  return o;
}

// The audit log's flags, checked: the origin for a new log, how often the leader makes a
// checkpoint, and the checkpoint file, which must lie outside the data directory.
Result<app::AuditLogOptions> AuditLogFlags(const ServeConfig& c,
                                           const std::filesystem::path& data_dir) {
  app::AuditLogOptions o;
  o.origin = c.log_origin;
  o.public_url = c.public_url;
  auto interval = ParseDurationMs(c.checkpoint_interval);
  if (!interval.ok()) return interval.status().WithContext("--checkpoint-interval");
  if (*interval < 100) return InvalidArgument("--checkpoint-interval must be at least 100ms");
  o.checkpoint_interval_ms = *interval;
  if (c.checkpoint_events < 1) return InvalidArgument("--checkpoint-events must be at least 1");
  o.checkpoint_events = c.checkpoint_events;
  if (!c.checkpoint_file.empty()) {
    VOUCH_TRY(app::CheckCheckpointFileOutside(c.checkpoint_file, data_dir));
    o.checkpoint_file = c.checkpoint_file;
  }
  return o;
}

// The --smtp-* flags, checked. The credentials: --smtp-credentials-file (one line user:password),
// else VOUCH_SMTP_USER and VOUCH_SMTP_PASSWORD, else none.
Result<service::EmailSettings> EmailFlags(const ServeConfig& c) {
  service::EmailSettings e;
  if (c.smtp_url.empty()) {
    if (!c.smtp_from.empty() || !c.smtp_credentials_file.empty()) {
      return InvalidArgument("--smtp-from and --smtp-credentials-file need --smtp-url");
    }
    return e;
  }
  VOUCH_TRY(net::CheckSmtpUrl(c.smtp_url).WithContext("--smtp-url"));
  if (c.smtp_from.empty()) {
    return InvalidArgument("--smtp-url needs --smtp-from, the sender of the notifications");
  }
  VOUCH_TRY(notify::CheckSmtpFrom(c.smtp_from).WithContext("--smtp-from"));
  auto starttls = net::ParseStartTls(c.smtp_starttls);
  if (!starttls.ok()) return starttls.status().WithContext("--smtp-starttls");
  e.smtp.starttls = *starttls;
  auto parsed_timeout = ParseDurationMs(c.smtp_timeout);
  if (!parsed_timeout.ok()) return parsed_timeout.status().WithContext("--smtp-timeout");
  const TimeMs timeout = *parsed_timeout;
  if (timeout < 1000) return InvalidArgument("--smtp-timeout is under a second");
  e.smtp.url = c.smtp_url;
  e.smtp.timeout = std::chrono::milliseconds(timeout);
  e.smtp.connect_timeout = std::min(e.smtp.timeout, std::chrono::milliseconds(10'000));
  e.from = c.smtp_from;
  if (!c.smtp_credentials_file.empty()) {
    VOUCH_ASSIGN_OR_RETURN(auto credentials, service::ReadSmtpCredentials(c.smtp_credentials_file));
    e.smtp.user = std::move(credentials.first);
    e.smtp.password = std::move(credentials.second);
  } else if (const char* user = std::getenv("VOUCH_SMTP_USER"); user != nullptr && *user != '\0') {
    const char* password = std::getenv("VOUCH_SMTP_PASSWORD");
    e.smtp.user = user;
    e.smtp.password = password != nullptr ? password : "";
  }
  if (!e.smtp.user.empty() && e.smtp.starttls != net::StartTls::kRequired &&
      !c.smtp_url.starts_with("smtps://")) {
    spdlog::warn("--smtp-starttls {}: the SMTP password may cross the network in clear text",
                 c.smtp_starttls);
  }
  return e;
}

int Run(const ServeConfig& c) {
  if (Status s = SetUpLogging(c.log_format, c.log_level); !s.ok()) return Fail(s);
  ::umask(077);  // the database and the token file are for the server's user only
  auto listen = ParseListen(c.listen);
  if (!listen.ok()) return Fail(listen.status());
  auto request_timeout = ParseDurationMs(c.request_timeout);
  auto drain_timeout = ParseDurationMs(c.drain_timeout);
  auto denial_window = ParseDurationMs(c.denial_window);
  auto idempotency_ttl = ParseDurationMs(c.idempotency_ttl);
  for (const auto* d : {&request_timeout, &drain_timeout, &denial_window, &idempotency_ttl}) {
    if (!d->ok()) return Fail(d->status());
  }
  if (*idempotency_ttl < 1000) return Fail(InvalidArgument("--idempotency-ttl is under a second"));
  auto webhooks = WebhookFlags(c);
  if (!webhooks.ok()) return Fail(webhooks.status());
  auto email = EmailFlags(c);
  if (!email.ok()) return Fail(email.status());
  webhooks->email = std::move(email).value();
  auto witnesses = WitnessFlags(c);
  if (!witnesses.ok()) return Fail(witnesses.status());
  if (c.threads < 1 || c.workers < 1 || c.read_workers < 1)
    return Fail(InvalidArgument("--threads, --workers and --read-workers must be at least 1"));
  std::shared_ptr<TlsContext> tls;
  if (!c.tls_cert.empty() || !c.tls_key.empty()) {
    if (c.tls_cert.empty() || c.tls_key.empty())
      return Fail(InvalidArgument("--tls-cert and --tls-key go together: give both or neither"));
    auto loaded = LoadTlsContext(c.tls_cert, c.tls_key);
    if (!loaded.ok()) return Fail(loaded.status());
    tls = std::move(loaded).value();
  }

  std::error_code ec;
  std::filesystem::path data_dir(c.data_dir);
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Fail(
        Unavailable(fmt::format("cannot create data directory {}: {}", c.data_dir, ec.message())));
  }
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);

  auto where = store::ParseStoreUri(c.store.empty() ? "sqlite://" + (data_dir / "vouch.db").string()
                                                    : c.store);
  if (!where.ok()) return Fail(where.status());
  auto default_permission = ParsePermission(c.default_permission);
  if (!default_permission.ok()) {
    return Fail(default_permission.status().WithContext("--default-permission"));
  }
  auto auth_cache_ttl = ParseDurationMs(c.auth_cache_ttl);
  if (!auth_cache_ttl.ok()) return Fail(auth_cache_ttl.status().WithContext("--auth-cache-ttl"));
  if (c.max_failed_logins < 1)
    return Fail(InvalidArgument("--max-failed-logins must be at least 1"));
  auto pg_timeout = ParseDurationMs(c.pg_statement_timeout);
  if (!pg_timeout.ok()) return Fail(pg_timeout.status());
  if (*pg_timeout > 86'400'000)
    return Fail(InvalidArgument("--pg-statement-timeout is over a day"));
  auto trusted = ParseCidrList(c.trusted_proxies);
  if (!trusted.ok()) return Fail(trusted.status().WithContext("--trusted-proxies"));
  if (where->kind == store::StoreKind::kSqlite) {
    if (Status s = CheckSqliteDataDir(c, where->sqlite_path, data_dir); !s.ok()) return Fail(s);
  } else if (c.init || c.skip_check || c.accept_shorter_log) {
    return Fail(InvalidArgument(
        "--init, --skip-check and --accept-shorter-log are for a SQLite store; PostgreSQL "
        "keeps its own durability and checks (see docs/operations.md)"));
  }
  auto master_key = LoadMasterKey(c, *where, data_dir);
  if (!master_key.ok()) return Fail(master_key.status());
  auto audit_log = AuditLogFlags(c, data_dir);
  if (!audit_log.ok()) return Fail(audit_log.status());
  if (where->kind == store::StoreKind::kSqlite && c.master_key_file.empty() &&
      std::getenv("VOUCH_MASTER_KEY") == nullptr) {
    spdlog::warn(
        "the master key is {}, beside the audit log whose checkpoints the key it seals signs: "
        "whoever can rewrite the database can then re-sign it too; keep the key elsewhere "
        "(--master-key-file on another disk, or VOUCH_MASTER_KEY) and the checkpoints outside "
        "too (--checkpoint-file)",
        (data_dir / "master-key").string());
  }
  if (!c.migrate_as.empty()) {
    if (Status s = MigrateAsOwner(c, *where); !s.ok()) return Fail(s);
  }
  const char* bootstrap_token = std::getenv("VOUCH_BOOTSTRAP_TOKEN");
  SystemClock clock;
  auto opened_store =
      store::OpenStore(*where, {.pg_pool_size = c.pg_pool_size,
                                .pg_statement_timeout_ms = static_cast<int>(*pg_timeout),
                                .sqlite_quick_check = !c.skip_check,
                                .accept_shorter_log = c.accept_shorter_log,
                                .audit_tree_off = c.bench_audit_tree_off});
  if (!opened_store.ok()) return Fail(opened_store.status());
  auto opened =
      app::App::Create(std::move(opened_store).value(),
                       {.master_key = std::move(master_key).value(),
                        .auth = {.denial_window_ms = *denial_window,
                                 .cache_ttl_ms = *auth_cache_ttl,
                                 .max_failures = c.max_failed_logins},
                        .default_permission = *default_permission,
                        .trusted_proxies = std::move(trusted).value(),
                        .bootstrap_token = bootstrap_token != nullptr ? bootstrap_token : "",
                        .idempotency = {.ttl_ms = *idempotency_ttl},
                        .webhooks = std::move(webhooks).value(),
                        .audit_log = std::move(audit_log).value(),
                        .witnesses = std::move(witnesses).value()},
                       clock);
  if (!opened.ok()) return Fail(opened.status());
  app::App& app = **opened;
  const service::BootstrapResult& boot = app.bootstrap();
  std::filesystem::path token_file = data_dir / "admin-token";
  if (boot.created && !boot.token.empty()) {
    if (Status s = WriteNewSecretFile(token_file, boot.token); !s.ok()) return Fail(s);
  }

  // Issue 12: say whether anything is gated, so that an operator sees it at a glance. Said
  // before Start(), so the line is in the log before anything can answer /ready.
  std::vector<store::PolicyRecord> in_force;
  if (app.store()
          .Read([&](store::Tx& tx) -> Status {
            VOUCH_ASSIGN_OR_RETURN(in_force, tx.ListPolicies(false));
            return OkStatus();
          })
          .ok()) {
    if (in_force.empty()) {
      spdlog::info("approval policies: none in force, nothing is gated");
    } else {
      spdlog::info("approval policies: {} in force (vouch policy list)", in_force.size());
    }
  }

  HttpServerOptions options{.host = listen->first,
                            .port = listen->second,
                            .io_threads = c.threads,
                            .workers = c.workers,
                            .read_workers = c.read_workers,
                            .max_body_bytes = c.max_body_bytes,
                            .request_timeout = std::chrono::milliseconds(*request_timeout),
                            .drain_timeout = std::chrono::milliseconds(*drain_timeout),
                            .tls = tls};
  HttpServer server(options, {.handle = [&](const api::HttpRequest& r) { return app.Handle(r); },
                              .reject = [&](const api::HttpRequest& r,
                                            const Status& s) { return app.Reject(r, s); }});
  // Before Start(): once the server answers, a SIGTERM drains instead of killing it.
  if (Status s = server.CatchShutdownSignals(); !s.ok()) return Fail(s);
  if (Status s = server.Start(); !s.ok()) return Fail(s);
  app.Start();

  std::string host =
      listen->first.find(':') != std::string::npos ? "[" + listen->first + "]" : listen->first;
  std::string url = fmt::format("{}://{}:{}", tls ? "https" : "http", host, server.port());
  fmt::print("vouch {} serving {} ({})\n", "0.1.0", url, app.store().Describe());
  if (boot.created && !boot.token.empty()) {
    fmt::print("Admin token (shown once; saved to {} with mode 0600):\n  {}\n", token_file.string(),
               boot.token);
  } else if (boot.created) {
    fmt::print("Admin token: the one in VOUCH_BOOTSTRAP_TOKEN.\n");
  } else {
    fmt::print("Log in with the admin token in {} (or VOUCH_BOOTSTRAP_TOKEN if you set one).\n",
               token_file.string());
  }
  // A hint that works when pasted into a second terminal: the token read from its file (made
  // absolute, so any directory will do) and the client by a name that reaches this build.
  std::error_code token_ec;
  std::filesystem::path token_path = std::filesystem::absolute(token_file, token_ec);
  std::string token_expr = !token_ec && std::filesystem::exists(token_path, token_ec)
                               ? fmt::format("$(cat {})", ShellWord(token_path.string()))
                               : "<token>";
  fmt::print("In a second terminal: export VOUCH_SERVER={} VOUCH_TOKEN={}; {} models list\n", url,
             token_expr, CliCommandForThisBinary());
  std::fflush(stdout);
  if (!tls && !IsLoopbackHost(listen->first)) {
    spdlog::warn(
        "listening on {} without TLS: credentials (API tokens, passwords) cross the network in "
        "clear text; serve with --tls-cert/--tls-key, or put a TLS-terminating proxy in front and "
        "set --trusted-proxies",
        listen->first);
  }

  // The last line of the start-up report: tests wait for it before reading the log.
  spdlog::info("listening on {}", url);

  server.WaitForSignal();
  app.Drain();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int ServeMain(int argc, char** argv) {
  ServeConfig c;
  c.threads = std::max(2u, std::thread::hardware_concurrency());
  c.read_workers = static_cast<int>(std::max(4u, 2 * std::thread::hardware_concurrency()));
  CLI::App app("Runs the vouch server: the registry, its audit log and its APIs.", "vouch serve");
  app.set_config("--config", "", "Read options from a TOML/INI file (keys are the long flag names)")
      ->envname("VOUCH_CONFIG");
  app.add_option("--data-dir", c.data_dir, "Directory of the SQLite database and the admin token")
      ->envname("VOUCH_DATA_DIR")
      ->capture_default_str();
  app.add_option("--store", c.store,
                 "Where the registry lives: sqlite://PATH or postgresql://USER:PASS@HOST:PORT/DB "
                 "(default: sqlite://<data-dir>/vouch.db)")
      ->envname("VOUCH_STORE");
  app.add_option("--migrate-as", c.migrate_as,
                 "PostgreSQL DSN of the schema's owner role: apply migrations as it and grant the "
                 "--store role its privileges before serving")
      ->envname("VOUCH_MIGRATE_AS");
  app.add_option("--master-key-file", c.master_key_file,
                 "File with the master key that seals the secrets in the store (32 bytes, base64 "
                 "or hex); or VOUCH_MASTER_KEY. SQLite default: <data-dir>/master-key, made once")
      ->check(CLI::ExistingFile);
  app.add_option("--pg-pool-size", c.pg_pool_size, "PostgreSQL connections kept at most")
      ->envname("VOUCH_PG_POOL_SIZE")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--pg-statement-timeout", c.pg_statement_timeout,
                 "PostgreSQL statement timeout (0 for none)")
      ->envname("VOUCH_PG_STATEMENT_TIMEOUT")
      ->capture_default_str();
  app.add_option("--default-permission", c.default_permission,
                 "What authenticated principals may do on a model without a grant of their own: "
                 "READ, USE, EDIT, MANAGE or NO_PERMISSIONS")
      ->envname("VOUCH_DEFAULT_PERMISSION")
      ->capture_default_str();
  app.add_option("--auth-cache-ttl", c.auth_cache_ttl,
                 "How long a verified token or password is trusted before the store is asked again "
                 "(a change on another server takes effect within it)")
      ->envname("VOUCH_AUTH_CACHE_TTL")
      ->capture_default_str();
  app.add_option("--max-failed-logins", c.max_failed_logins,
                 "Failed sign-ins for one username from one address before its attempts back "
                 "off (429 without checking: 1 s, doubling with each further failure, at most a "
                 "minute; forgotten a minute after the last failure or wait). A username from any "
                 "address, and an address for any username, back off after 10 times as many")
      ->envname("VOUCH_MAX_FAILED_LOGINS")
      ->capture_default_str();
  app.add_option("--trusted-proxies", c.trusted_proxies,
                 "CIDR ranges of load balancers whose Forwarded / X-Forwarded-For name the client "
                 "in the audit log, e.g. 10.0.0.0/8,127.0.0.1")
      ->envname("VOUCH_TRUSTED_PROXIES");
  app.add_option("--listen", c.listen, "Address to listen on, HOST:PORT (port 0 picks one)")
      ->envname("VOUCH_LISTEN")
      ->capture_default_str();
  app.add_option("--tls-cert", c.tls_cert,
                 "Serve HTTPS: PEM file with the server certificate, then any intermediates")
      ->envname("VOUCH_TLS_CERT");
  app.add_option("--tls-key", c.tls_key,
                 "PEM file with the certificate's private key (unencrypted)")
      ->envname("VOUCH_TLS_KEY");
  app.add_option("--threads", c.threads, "I/O threads")
      ->envname("VOUCH_THREADS")
      ->capture_default_str();
  app.add_option("--workers", c.workers,
                 "Worker threads for requests that may change state (they may wait on commits)")
      ->envname("VOUCH_WORKERS")
      ->capture_default_str();
  app.add_option("--read-workers", c.read_workers, "Worker threads for GET and HEAD requests")
      ->envname("VOUCH_READ_WORKERS")
      ->capture_default_str();
  app.add_option("--max-body-bytes", c.max_body_bytes, "Largest request body accepted (413 above)")
      ->envname("VOUCH_MAX_BODY_BYTES")
      ->capture_default_str();
  app.add_option("--request-timeout", c.request_timeout,
                 "Time to read a request or write a response")
      ->envname("VOUCH_REQUEST_TIMEOUT")
      ->capture_default_str();
  app.add_option("--drain-timeout", c.drain_timeout,
                 "On SIGTERM, how long in-flight requests may take")
      ->envname("VOUCH_DRAIN_TIMEOUT")
      ->capture_default_str();
  app.add_option("--denial-window", c.denial_window,
                 "Unauthenticated denials from one address are recorded as one event per window")
      ->envname("VOUCH_DENIAL_WINDOW")
      ->capture_default_str();
  app.add_option("--idempotency-ttl", c.idempotency_ttl,
                 "How long an Idempotency-Key and its answer are kept (a retry with the key within "
                 "it gets the first answer)")
      ->envname("VOUCH_IDEMPOTENCY_TTL")
      ->capture_default_str();
  app.add_option("--public-url", c.public_url,
                 "This server's public base URL (https://vouch.example.com), for the links that "
                 "notifications carry; empty: no links")
      ->envname("VOUCH_PUBLIC_URL");
  app.add_option("--log-origin", c.log_origin,
                 "The audit log's origin, its checkpoints' first line and its keys' name, for a "
                 "new log (default: <host of --public-url>/api/v1/audit/log, else "
                 "vouch-<random id>/api/v1/audit/log); an existing log keeps its own")
      ->envname("VOUCH_LOG_ORIGIN");
  app.add_option("--checkpoint-interval", c.checkpoint_interval,
                 "The leader signs a checkpoint of the audit log this often when it grew")
      ->envname("VOUCH_CHECKPOINT_INTERVAL")
      ->capture_default_str();
  app.add_option("--checkpoint-events", c.checkpoint_events,
                 "... or as soon as this many events came after the latest checkpoint")
      ->envname("VOUCH_CHECKPOINT_EVENTS")
      ->capture_default_str();
  app.add_option("--checkpoint-file", c.checkpoint_file,
                 "Append each checkpoint this server signs to FILE (outside the data directory); "
                 "at start, a log that does not hold its last checkpoint is refused")
      ->envname("VOUCH_CHECKPOINT_FILE");
  app.add_option("--webhook-workers", c.webhook_workers,
                 "Threads on this server that send webhook deliveries (0: this server sends none; "
                 "others sharing the store do)")
      ->envname("VOUCH_WEBHOOK_WORKERS")
      ->capture_default_str();
  app.add_option("--webhook-poll", c.webhook_poll,
                 "How often the delivery workers look for deliveries due later and events other "
                 "servers committed (this server's commits wake them at once)")
      ->envname("VOUCH_WEBHOOK_POLL")
      ->capture_default_str();
  app.add_flag("--webhook-allow-private", c.webhook_allow_private,
               "Let webhooks reach receivers on private, loopback and link-local addresses (and "
               "over plain http:// there); refused otherwise")
      ->envname("VOUCH_WEBHOOK_ALLOW_PRIVATE");
  app.add_option("--webhook-connect-timeout", c.webhook_connect_timeout,
                 "Time to connect to a webhook receiver")
      ->envname("VOUCH_WEBHOOK_CONNECT_TIMEOUT")
      ->capture_default_str();
  app.add_option("--webhook-timeout", c.webhook_timeout,
                 "Time one delivery attempt may take in all")
      ->envname("VOUCH_WEBHOOK_TIMEOUT")
      ->capture_default_str();
  app.add_option(
         "--webhook-first-retry", c.webhook_first_retry,
         "A failed delivery is tried again within this (then the wait doubles, with jitter)")
      ->envname("VOUCH_WEBHOOK_FIRST_RETRY")
      ->capture_default_str();
  app.add_option("--webhook-max-backoff", c.webhook_max_backoff,
                 "The longest wait between two attempts (a receiver's Retry-After may ask longer)")
      ->envname("VOUCH_WEBHOOK_MAX_BACKOFF")
      ->capture_default_str();
  app.add_option("--webhook-max-attempts", c.webhook_max_attempts,
                 "A delivery is dead-lettered after this many attempts (0: no limit but the age)")
      ->envname("VOUCH_WEBHOOK_MAX_ATTEMPTS")
      ->capture_default_str();
  app.add_option("--webhook-busy-rate", c.webhook_busy_rate,
                 "Delivery attempts a second this server makes at most while it answers requests "
                 "(a burst of 50 goes at once; 0: no bound); unbounded when it answers none")
      ->envname("VOUCH_WEBHOOK_BUSY_RATE")
      ->capture_default_str();
  app.add_option("--webhook-max-age", c.webhook_max_age,
                 "A delivery still failing this long after its event is dead-lettered")
      ->envname("VOUCH_WEBHOOK_MAX_AGE")
      ->capture_default_str();
  app.add_option("--webhook-ca-file", c.webhook_ca_file,
                 "PEM file of the CA certificates that https:// receivers are verified against "
                 "(default: the system's)")
      ->envname("VOUCH_WEBHOOK_CA_FILE");
  app.add_option("--notification-retention", c.notification_retention,
                 "Finished deliveries, their attempts and delivered outbox rows are deleted after "
                 "this (never before delivery)")
      ->envname("VOUCH_NOTIFICATION_RETENTION")
      ->capture_default_str();
  // E-mail notifications.
  app.add_option("--smtp-url", c.smtp_url,
                 "SMTP relay for e-mail subscriptions: smtp://HOST:PORT (STARTTLS, see "
                 "--smtp-starttls) or smtps://HOST:PORT (TLS); empty: e-mail deliveries wait")
      ->envname("VOUCH_SMTP_URL");
  app.add_option("--smtp-from", c.smtp_from,
                 "The notifications' sender: ADDRESS or \"Name <ADDRESS>\"")
      ->envname("VOUCH_SMTP_FROM");
  app.add_option("--smtp-credentials-file", c.smtp_credentials_file,
                 "File holding user:password for the relay's AUTH (or VOUCH_SMTP_USER and "
                 "VOUCH_SMTP_PASSWORD)")
      ->envname("VOUCH_SMTP_CREDENTIALS_FILE")
      ->check(CLI::ExistingFile);
  app.add_option("--smtp-starttls", c.smtp_starttls,
                 "smtp://: required (never send in clear text), opportunistic, or off (a relay on "
                 "this machine)")
      ->envname("VOUCH_SMTP_STARTTLS")
      ->check(CLI::IsMember({"required", "opportunistic", "off"}))
      ->capture_default_str();
  app.add_option("--smtp-timeout", c.smtp_timeout, "Time one message may take to send in all")
      ->envname("VOUCH_SMTP_TIMEOUT")
      ->capture_default_str();
  app.add_option("--witness", c.witnesses,
                 "A witness's submission URL (C2SP tlog-witness): each checkpoint is sent to "
                 "URL/add-checkpoint and the cosignatures it returns are kept with it. Repeatable")
      ->envname("VOUCH_WITNESS")
      ->delimiter(',');
  app.add_option("--witness-key", c.witness_keys,
                 "A witness's cosignature/v1 verifier key (NAME+ID+BASE64); cosignatures by other "
                 "keys are not kept. Repeatable")
      ->envname("VOUCH_WITNESS_KEY")
      ->delimiter(',');
  app.add_option("--witness-timeout", c.witness_timeout,
                 "Time one submission to a witness may take")
      ->envname("VOUCH_WITNESS_TIMEOUT")
      ->capture_default_str();
  app.add_option("--witness-ca-file", c.witness_ca_file,
                 "PEM file of the CA certificates that https:// witnesses are verified against "
                 "(default: the system's)")
      ->envname("VOUCH_WITNESS_CA_FILE");
  app.add_flag("--init", c.init,
               "SQLite: make a new, empty registry in a data directory that holds a master key, "
               "admin token or acknowledged head but no database (refused otherwise)");
  app.add_flag("--skip-check", c.skip_check,
               "SQLite: skip the check of the database file at start (PRAGMA quick_check, which "
               "reads the whole file)")
      ->envname("VOUCH_SKIP_CHECK");
  app.add_flag("--accept-shorter-log", c.accept_shorter_log,
               "SQLite: serve a database whose audit log is shorter than the acknowledged head "
               "(committed writes were lost), and reset the head to it");
  // Hidden (no group): for bench/audit_tree.sh only; docs/benchmarks.md says what it does.
  app.add_flag("--bench-audit-tree-off", c.bench_audit_tree_off,
               "Benchmarks only: no audit tree updates; the store can never be served again")
      ->group("");
  app.add_option("--log-format", c.log_format, "text or json")
      ->envname("VOUCH_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->envname("VOUCH_LOG_LEVEL")
      ->capture_default_str();
  app.footer(
      "Environment: VOUCH_BOOTSTRAP_TOKEN sets the admin token when the store is empty; otherwise\n"
      "a random one is written to <data-dir>/admin-token (mode 0600) and printed once.\n"
      "VOUCH_MASTER_KEY gives the master key as text (instead of --master-key-file).\n"
      "Every option also reads VOUCH_<NAME> (e.g. VOUCH_LISTEN); flags win over the environment,\n"
      "which wins over the config file.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return Run(c);
}

}  // namespace vouch::server
