#!/usr/bin/env bash
# Builds and runs bench/soci/soci_vs_sql_tx_bench.cc against build/release's store libraries.
# Needs libsoci-dev (not a dependency of vouch: apt-get install libsoci-dev to measure) and a
# release build. PostgreSQL figures need VOUCH_TEST_POSTGRES_DSN. Extra arguments go to the
# benchmark (e.g. --benchmark_repetitions=3).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/release/soci_vs_sql_tx_bench
g++ -std=c++23 -O2 -DNDEBUG -Isrc -Ibuild/release/generated $(pkg-config --cflags libpq) -o "$out" \
  bench/soci/soci_vs_sql_tx_bench.cc build/release/libvouch_store_postgres.a \
  build/release/libvouch_store_sqlite.a build/release/libvouch_store_sql.a \
  build/release/libvouch_store.a build/release/libvouch_domain.a build/release/libvouch_util.a \
  -lsoci_core -lsoci_sqlite3 -lsoci_postgresql -lbenchmark -lpthread \
  $(pkg-config --libs sqlite3 libpq libsodium openssl fmt spdlog) \
  -lboost_json -lboost_url -ldl
exec "$out" "$@"
