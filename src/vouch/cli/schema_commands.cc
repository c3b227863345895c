// migrate-schema: applies migrations to a PostgreSQL database as its owner role and grants the
// application role (the one `vouch serve --store` uses) what a server needs. It talks to the
// database, not to a vouch server.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "vouch/cli/commands.h"
#include "vouch/storage/open.h"
#include "vouch/store/migrations.h"
#include "vouch/store/postgres/postgres_store.h"

namespace vouch::cli {
namespace {

struct SchemaArgs {
  std::string store;
  std::string app_role;
};

int MigrateSchema(const SchemaArgs& a, Session& s) {
  auto where = store::ParseStoreUri(a.store);
  if (!where.ok()) return s.Fail(where.status().message(), kExitUsage);
  if (where->kind != store::StoreKind::kPostgres) {
    return s.Fail(
        "migrate-schema is for PostgreSQL (a SQLite store is migrated by `vouch serve` itself)",
        kExitUsage);
  }
  auto version = store::PostgresStore::MigrateSchema({.dsn = where->dsn}, a.app_role);
  if (!version.ok()) return s.Fail(version.status().message(), kExitRefused);
  s.out() << fmt::format("{}: schema version {} (this vouch knows {})\n", where->Describe(),
                         *version, store::LatestMigrationVersion("postgres"));
  if (!a.app_role.empty()) {
    s.out() << fmt::format(
        "granted {}: SELECT, INSERT, UPDATE, DELETE on the tables; SELECT, INSERT only on "
        "audit_events; SELECT only on schema_migrations\n",
        a.app_role);
  }
  return kExitOk;
}

}  // namespace

void AddSchemaCommands(CLI::App& app, Action& chosen) {
  auto a = std::make_shared<SchemaArgs>();
  CLI::App* cmd = app.add_subcommand("migrate-schema",
                                     "As the PostgreSQL owner role: apply pending migrations "
                                     "(under the migration lock, safe while "
                                     "servers run) and grant the application role its privileges");
  cmd->add_option("--store", a->store, "The owner role's DSN: postgresql://OWNER:PASS@HOST/DB")
      ->required();
  cmd->add_option(
      "--app-role", a->app_role,
      "The role `vouch serve --store` connects as (it gets SELECT/INSERT/UPDATE/DELETE, "
      "and only SELECT/INSERT on the audit log)");
  OnSelect(*cmd, chosen, [a](Session& s, const Clock&) { return MigrateSchema(*a, s); });
}

}  // namespace vouch::cli
