#pragma once
// The Database adapters under test, each on a fresh, empty database: PostgreSQL (a database
// created per test in the cluster tests/env/pg.sh started) and SQLite (a file in a temp dir).
// A backend also gives a "spec" that a forked child process can open on its own.
#include "service/adapters/postgres_database.h"
#include "service/adapters/sqlite_database.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <unistd.h>

namespace quack::service::test {

/// The error code of a failed ApiStatus or ApiResult (both shapes of ApiStatus).
template <typename S> ApiErrorCode codeOf(const S& s) {
    if constexpr (requires { s.error().code; })
        return s.error().code;
    else
        return s.error->code;
}
template <typename S> std::string messageOf(const S& s) {
    if constexpr (requires { s.error().message; })
        return s.error().message;
    else
        return s.error->message;
}

/// QUACK_TEST_PG=off: PostgreSQL tests skip. Anything else: they need the cluster and fail
/// without it (CI must not go green by skipping them).
inline bool pgDisabled() {
    const char* v = std::getenv("QUACK_TEST_PG");
    return v && std::string(v) == "off";
}

/// The admin URL of the test cluster: QUACK_TEST_PG_URL, else the file QUACK_TEST_PG_URL_FILE
/// (ctest sets it to the file tests/env/pg.sh start wrote). Empty if neither is there.
inline std::string pgAdminUrl() {
    if (const char* u = std::getenv("QUACK_TEST_PG_URL"); u && *u)
        return u;
    const char* file = std::getenv("QUACK_TEST_PG_URL_FILE");
#ifdef QUACK_TEST_PG_URL_FILE_DEFAULT
    if (!file || !*file)
        file = QUACK_TEST_PG_URL_FILE_DEFAULT;
#endif
    if (!file || !*file)
        return {};
    std::ifstream in(file);
    std::string url;
    std::getline(in, url);
    return url;
}

/// Runs one SQL command on the admin database; empty string on success, else libpq's message.
inline std::string pgAdminExec(const std::string& sql) {
    PGconn* c = PQconnectdb(pgAdminUrl().c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
        err = PQerrorMessage(c);
    } else {
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            err = PQresultErrorMessage(r);
        PQclear(r);
    }
    PQfinish(c);
    return err;
}

/// The admin URL rewritten as a key=value conninfo with another database name.
inline std::string pgConninfoFor(const std::string& dbname) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(pgAdminUrl().c_str(), &err);
    PQfreemem(err);
    std::string out;
    for (auto* o = opts; o && o->keyword; ++o) {
        if (!o->val || !*o->val || std::string(o->keyword) == "dbname")
            continue;
        std::string v;
        for (const char* p = o->val; *p; ++p) {
            if (*p == '\'' || *p == '\\')
                v += '\\';
            v += *p;
        }
        out += std::string(o->keyword) + "='" + v + "' ";
    }
    PQconninfoFree(opts);
    return out + "dbname='" + dbname + "'";
}

/// Skips (QUACK_TEST_PG=off) or fails (no cluster) a PostgreSQL test; true if it may go on.
#define QUACK_REQUIRE_PG()                                                                         \
    do {                                                                                           \
        if (::quack::service::test::pgDisabled())                                                  \
            GTEST_SKIP() << "QUACK_TEST_PG=off";                                                   \
        ASSERT_FALSE(::quack::service::test::pgAdminUrl().empty())                                 \
            << "no PostgreSQL test cluster: run the tests through ctest (fixture pg_cluster), or " \
               "`tests/env/pg.sh start DIR` and set QUACK_TEST_PG_URL_FILE=DIR/url; "              \
               "QUACK_TEST_PG=off skips these tests";                                              \
    } while (0)

/// An empty database and how to open it again (in this process or a child).
struct DatabaseUnderTest {
    std::shared_ptr<Database> db;
    std::string spec;                                             ///< conninfo or file path
    std::function<std::shared_ptr<Database>(const std::string&)> open; ///< opens spec anew
    std::function<void()> cleanup;
    ~DatabaseUnderTest() {
        db.reset();
        if (cleanup)
            cleanup();
    }
};

/// A temp dir for per-process output files, removed at scope exit.
struct TempDirForOutputs {
    std::string path;
    TempDirForOutputs() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "quack-db-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDirForOutputs() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(int i) const { return path + "/" + std::to_string(i); }
};

struct Backend {
    std::string name;
    bool needsPostgres = false;
    std::function<std::unique_ptr<DatabaseUnderTest>()> make;
};

inline std::shared_ptr<Database> openPostgresOrFail(const std::string& spec) {
    auto r = PostgresDatabase::open(spec);
    if (!r) {
        ADD_FAILURE() << "PostgresDatabase::open: " << r.error().message;
        return nullptr;
    }
    return *r;
}

/// A fresh database in the test cluster, dropped afterwards (WITH FORCE: a child process may
/// still hold a connection if it failed).
inline Backend postgresBackend() {
    return Backend{"Postgres", true, [] {
                       static std::atomic<int> counter{0};
                       const std::string name = "quack_t" + std::to_string(::getpid()) + "_" +
                                                std::to_string(counter++);
                       auto d = std::make_unique<DatabaseUnderTest>();
                       const std::string err = pgAdminExec("CREATE DATABASE " + name);
                       if (!err.empty()) {
                           ADD_FAILURE() << "CREATE DATABASE: " << err;
                           return d;
                       }
                       d->cleanup = [name] { pgAdminExec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); };
                       d->spec = pgConninfoFor(name);
                       d->open = openPostgresOrFail;
                       d->db = d->open(d->spec);
                       return d;
                   }};
}

inline std::shared_ptr<Database> openSqliteOrFail(const std::string& path) {
    auto r = SqliteDatabase::open(path);
    if (!r) {
        ADD_FAILURE() << "SqliteDatabase::open: " << r.error().message;
        return nullptr;
    }
    return *r;
}

/// A fresh SQLite file in its own temp dir, removed afterwards.
inline Backend sqliteBackend() {
    return Backend{"Sqlite", false, [] {
                       auto d = std::make_unique<DatabaseUnderTest>();
                       auto dir = std::make_shared<TempDirForOutputs>();
                       d->cleanup = [dir]() mutable { dir.reset(); };
                       d->spec = dir->path + "/quack.db";
                       d->open = openSqliteOrFail;
                       d->db = d->open(d->spec);
                       return d;
                   }};
}

/// gtest prints the parameter in test lists (ctest names): the backend's name, not its bytes.
inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

} // namespace quack::service::test
