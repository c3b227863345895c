#include "vouch/store/postgres/pg_conn.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace vouch::store {
namespace {

bool ValidSchemaName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (!ok) return false;
  }
  return !(s[0] >= '0' && s[0] <= '9');
}

// libpq messages span lines ("…failed: Connection refused\n\tIs the server running…"); a status
// and a log line read better as one line.
std::string Trimmed(const char* msg) {
  std::string s;
  for (const char* p = msg != nullptr ? msg : ""; *p != '\0'; ++p) {
    bool space = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';
    if (space) {
      if (!s.empty() && s.back() != ' ') s.push_back(' ');
    } else {
      s.push_back(*p);
    }
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// libpq's complaint about a DSN it cannot parse quotes the offending part, which can be the
// password ("invalid percent-encoded token: \"pa%zz\"") or the whole URI, password and all. Keeps
// the complaint and drops every quoted part.
std::string WithoutQuotedParts(std::string_view msg) {
  std::string out;
  bool quoted = false;
  for (char ch : msg) {
    if (ch == '"') {
      if (!quoted) out += "\"...\"";
      quoted = !quoted;
    } else if (!quoted) {
      out.push_back(ch);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseDsn(const std::string& dsn, bool& ok) {
  std::map<std::string, std::string> v;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  ok = opts != nullptr;
  if (opts == nullptr) {
    if (err != nullptr) PQfreemem(err);
    return v;
  }
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) v[o->keyword] = o->val;
  }
  PQconninfoFree(opts);
  return v;
}

}  // namespace

std::string RedactDsn(const std::string& dsn) {
  bool ok = false;
  std::map<std::string, std::string> v = ParseDsn(dsn, ok);
  if (!ok) return "(unparsable DSN)";
  std::string out;
  if (!v["user"].empty()) out += v["user"] + "@";
  out += v["host"].empty() ? (v["hostaddr"].empty() ? "localhost" : v["hostaddr"]) : v["host"];
  if (!v["port"].empty()) out += ":" + v["port"];
  out += "/" + v["dbname"];
  // A garbled URI can leave the password inside another field (the host of
  // "postgresql://u:pw@h://u:pw@h"): it is never shown, wherever it landed.
  if (const std::string& pw = v["password"]; !pw.empty()) {
    for (size_t at = out.find(pw); at != std::string::npos; at = out.find(pw, at + 4)) {
      out.replace(at, pw.size(), "****");
    }
  }
  return out;
}

std::string DsnUser(const std::string& dsn) {
  bool ok = false;
  return ParseDsn(dsn, ok)["user"];
}

PgParams& PgParams::Add(int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

PgParams& PgParams::Add(double v) {
  // fmt's shortest round-trip form; PostgreSQL reads "inf", "-inf" and "nan" too.
  values_.emplace_back(fmt::format("{}", v));
  return *this;
}

PgParams& PgParams::Add(std::string_view v) {
  values_.emplace_back(std::string(v));
  return *this;
}

PgParams& PgParams::Add(std::optional<int64_t> v) { return v ? Add(*v) : AddNull(); }

PgParams& PgParams::AddNull() {
  values_.emplace_back(std::nullopt);
  return *this;
}

bool PgParams::ContainsNul() const {
  return std::any_of(values_.begin(), values_.end(),
                     [](const auto& v) { return v && v->find('\0') != std::string::npos; });
}

std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

std::string PgRows::Text(int row, int col) const {
  return std::string(PQgetvalue(res_.get(), row, col),
                     static_cast<size_t>(PQgetlength(res_.get(), row, col)));
}

int64_t PgRows::Int(int row, int col) const {
  return std::strtoll(PQgetvalue(res_.get(), row, col), nullptr, 10);
}

double PgRows::Double(int row, int col) const {
  return std::strtod(PQgetvalue(res_.get(), row, col), nullptr);
}

int64_t PgRows::affected() const {
  const char* n = PQcmdTuples(res_.get());
  return (n == nullptr || *n == '\0') ? 0 : std::strtoll(n, nullptr, 10);
}

Result<std::unique_ptr<PgConn>> PgConn::Open(const PgConnOptions& options) {
  std::string settings = "-c client_min_messages=warning";
  if (options.statement_timeout_ms > 0) {
    settings += fmt::format(" -c statement_timeout={}", options.statement_timeout_ms);
  }
  if (!options.schema.empty()) {
    if (!ValidSchemaName(options.schema)) {
      return InvalidArgument(fmt::format("invalid schema name {:?}", options.schema));
    }
    settings += " -c search_path=" + options.schema;
  }
  {
    char* err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &err);
    if (parsed == nullptr) {
      std::string why = err != nullptr ? WithoutQuotedParts(Trimmed(err)) : "out of memory";
      if (err != nullptr) PQfreemem(err);
      return InvalidArgument(
          fmt::format("the PostgreSQL DSN cannot be parsed ({}); expected "
                      "postgresql://USER:PASSWORD@HOST:PORT/DB",
                      why));
    }
    PQconninfoFree(parsed);
  }
  // expand_dbname: "dbname" is expanded as the DSN; the later keywords add to it.
  const char* keys[] = {
      "dbname", "options", "client_encoding", "connect_timeout", "fallback_application_name",
      nullptr};
  const char* values[] = {options.dsn.c_str(), settings.c_str(), "UTF8", "10", "vouch", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr) return Unavailable("cannot allocate a PostgreSQL connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names host, port and the failure, never the password.
    Status s = Unavailable(fmt::format("cannot connect to PostgreSQL at {}: {}",
                                       RedactDsn(options.dsn), Trimmed(PQerrorMessage(conn))));
    PQfinish(conn);
    return s;
  }
  return std::unique_ptr<PgConn>(new PgConn(conn));
}

PgConn::~PgConn() { PQfinish(conn_); }

bool PgConn::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

Status PgConn::ResultStatus(PGresult* res, std::string_view what) {
  ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    return OkStatus();
  }
  std::string msg = Trimmed(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (msg.empty()) msg = Trimmed(PQerrorMessage(conn_));
  msg = fmt::format("{}: {}", what, msg);
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view code = state != nullptr ? state : "";
  if (code == "53100" || code.starts_with("58") || code == "XX001" || code == "XX002" ||
      code == "25006") {
    // The database cannot write (disk full, I/O error, damaged data, read-only or a standby): a
    // failure underneath, not a bug.
    write_fault_ = true;
    return Unavailable(std::move(msg));
  }
  if (!healthy() || code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") ||
      code == "57014") {
    // Lost connection, server shutting down or out of resources, statement timeout: retry later.
    return Unavailable(std::move(msg));
  }
  if (code == "23505") return AlreadyExists(std::move(msg));
  if (code == "42501") return PermissionDenied(std::move(msg));
  if (code == "40001" || code == "40P01") {
    retryable_ = true;
    return Aborted(std::move(msg));
  }
  return Internal(std::move(msg));
}

Result<PgRows> PgConn::Query(const char* sql, const PgParams& params) {
  if (params.ContainsNul()) {
    // Text parameters go to libpq as C strings, so "a\0b" would arrive as "a": a lookup of the
    // model "a\0b" would find, change or delete "a", and a description would lose its tail.
    return InvalidArgument("PostgreSQL text cannot contain the character U+0000 (NUL)");
  }
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = fmt::format("v{}", prepared_.size() + 1);
    PGresult* res = PQprepare(conn_, name.c_str(), sql, 0, nullptr);
    Status s = ResultStatus(res, "postgres prepare");
    PQclear(res);
    if (!s.ok()) return s;
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values = params.Pointers();
  PGresult* res =
      PQexecPrepared(conn_, it->second.c_str(), params.size(), values.data(), nullptr, nullptr, 0);
  Status s = ResultStatus(res, "postgres query");
  if (!s.ok()) {
    PQclear(res);
    return s;
  }
  return PgRows(res);
}

Status PgConn::Exec(const char* sql) {
  PGresult* res = PQexec(conn_, sql);
  Status s = ResultStatus(res, "postgres exec");
  PQclear(res);
  return s;
}

}  // namespace vouch::store
