// Accounts on a real SQLite file: register, login, rate limit, sessions, logout, passwords
// never in clear, Argon2id at the configured cost.
#include "service_test_util.h"

#include <sodium.h>
#include <sqlite3.h>

#include <gtest/gtest.h>

namespace quack::service {
namespace {

using test::Env;

/// Every text value in the database file, for "never stored in clear" checks.
std::string dumpDatabase(const std::string& path) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    std::string all;
    for (const char* table : {"users", "sessions", "uploads", "jobs", "retention_events"}) {
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db, (std::string("SELECT * FROM ") + table).c_str(), -1, &s, nullptr);
        while (sqlite3_step(s) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(s); ++c)
                if (const auto* t = sqlite3_column_text(s, c))
                    all += std::string(reinterpret_cast<const char*>(t)) + "\n";
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return all;
}

TEST(ServiceAccounts, RegisterLoginMeLogout) {
    Env env;
    auto reg = env.svc().registerAndLogin({"  Ada@Example.COM ", "correct horse battery", " Ada ", ""});
    ASSERT_TRUE(reg.ok()) << reg.error().message;
    EXPECT_EQ(reg->user.email, "ada@example.com");
    EXPECT_EQ(reg->user.name, "Ada");
    EXPECT_EQ(reg->token.size(), 43u); // 256 bits, base64url without padding

    auto login = env.svc().login({"ada@example.com", "correct horse battery", "192.0.2.1"});
    ASSERT_TRUE(login.ok());
    EXPECT_NE(login->token, reg->token);
    EXPECT_EQ(login->expiresAt, test::kStart + env.config.sessionSeconds);
    auto caller = env.svc().authenticate(login->token);
    ASSERT_TRUE(caller.ok());
    auto me = env.svc().me(*caller);
    ASSERT_TRUE(me.ok());
    EXPECT_EQ(me->id, reg->user.id);

    ASSERT_TRUE(env.svc().logout(*caller).ok());
    EXPECT_EQ(env.svc().authenticate(login->token).error().id(), "unauthenticated");
    // The other session is independent.
    EXPECT_TRUE(env.svc().authenticate(reg->token).ok());
}

TEST(ServiceAccounts, ValidationAndDuplicates) {
    Env env;
    EXPECT_EQ(env.svc().registerUser({"not-an-email", "correct horse battery", "A", ""}).error().id(),
              "validation_failed");
    EXPECT_EQ(env.svc().registerUser({"a@b.co", "short", "A", ""}).error().id(), "validation_failed");
    EXPECT_EQ(env.svc().registerUser({"a@b.co", std::string(129, 'x'), "A", ""}).error().id(), "validation_failed");
    EXPECT_TRUE(env.svc().registerUser({"a@b.co", std::string(128, 'x'), "A", ""}).ok());
    EXPECT_EQ(env.svc().registerUser({"a@b.co", "correct horse battery", "", ""}).error().id(), "validation_failed");
    EXPECT_EQ(env.svc().registerUser({"A@B.CO", "correct horse battery", "B", ""}).error().id(), "email_taken");
}

TEST(ServiceAccounts, WrongPasswordAndUnknownEmailLookAlike) {
    Env env;
    env.user("a@example.com");
    auto wrong = env.svc().login({"a@example.com", "wrong password!", "192.0.2.1"});
    auto unknown = env.svc().login({"nobody@example.com", "wrong password!", "192.0.2.2"});
    EXPECT_EQ(wrong.error().id(), "invalid_credentials");
    EXPECT_EQ(unknown.error().id(), "invalid_credentials");
    EXPECT_EQ(wrong.error().message, unknown.error().message);
    EXPECT_EQ(env.svc().login({"a@example.com", std::string(200, 'x'), "192.0.2.1"}).error().id(),
              "invalid_credentials");
}

TEST(ServiceAccounts, LoginRateLimitedPerAccountAndAddressAndPerAddress) {
    Env env;
    env.config.loginAttemptsPerAddress = 8;
    env.reopen();
    env.user("a@example.com");
    env.user("b@example.com");
    const int limit = env.config.loginAttemptsPerWindow; // 5 per 60 s per (account, address)
    for (int i = 0; i < limit; ++i)
        EXPECT_EQ(env.svc().login({"a@example.com", "wrong password!", "198.51.100.1"}).error().id(),
                  "invalid_credentials");
    // That pair now backs off, even with the right password...
    EXPECT_EQ(env.svc().login({"a@example.com", "correct horse battery", "198.51.100.1"}).error().id(),
              "rate_limited");
    // ...but the owner from another address is not locked out (issue 9, finding 4).
    EXPECT_TRUE(env.svc().login({"a@example.com", "correct horse battery", "203.0.113.9"}).ok());
    // After the backoff (1 s for the first failure over the limit) the pair may try again.
    env.clock->advance(2);
    EXPECT_TRUE(env.svc().login({"a@example.com", "correct horse battery", "198.51.100.1"}).ok());

    // Per address: failures against many accounts from one address stop at its own limit.
    for (int i = 0; i < env.config.loginAttemptsPerAddress; ++i)
        (void)env.svc().login({std::string("x") + std::to_string(i) + "@example.com", "wrong password!", "192.0.2.77"});
    EXPECT_EQ(env.svc().login({"b@example.com", "correct horse battery", "192.0.2.77"}).error().id(),
              "rate_limited");
    EXPECT_TRUE(env.svc().login({"b@example.com", "correct horse battery", "192.0.2.78"}).ok());
}

TEST(ServiceAccounts, SessionsExpireIdleAndAbsolute) {
    Env env;
    env.config.sessionIdleSeconds = 3600;
    env.config.sessionSeconds = 3 * 3600;
    env.reopen();
    env.user("a@example.com");
    auto s = env.svc().login({"a@example.com", "correct horse battery", ""});
    ASSERT_TRUE(s.ok());
    // Used every 50 min: the idle timer keeps resetting, until the absolute lifetime ends.
    for (int i = 0; i < 3; ++i) {
        env.clock->advance(50 * 60);
        EXPECT_TRUE(env.svc().authenticate(s->token).ok()) << i;
    }
    env.clock->advance(40 * 60); // 190 min > 180 min absolute
    EXPECT_FALSE(env.svc().authenticate(s->token).ok());

    auto idle = env.svc().login({"a@example.com", "correct horse battery", ""});
    ASSERT_TRUE(idle.ok());
    env.clock->advance(3600);
    EXPECT_FALSE(env.svc().authenticate(idle->token).ok());
    EXPECT_FALSE(env.svc().authenticate("garbage").ok());
    EXPECT_FALSE(env.svc().authenticate(std::string(43, 'A')).ok());
}

TEST(ServiceAccounts, PasswordAndTokenNeverStoredInClear) {
    Env env;
    const std::string password = "a very distinctive passphrase 42";
    auto s = env.svc().registerAndLogin({"c@example.com", password, "C", ""});
    ASSERT_TRUE(s.ok());
    const std::string all = dumpDatabase(env.dir.file("quacktracks.db"));
    EXPECT_EQ(all.find(password), std::string::npos);
    EXPECT_EQ(all.find(s->token), std::string::npos);
    auto user = env.s.db->userByEmail("c@example.com").value();
    ASSERT_TRUE(user.has_value());
    // Argon2id with the configured cost, as a libsodium string.
    EXPECT_EQ(user->passwordHash.rfind("$argon2id$", 0), 0u);
    EXPECT_NE(user->passwordHash.find("m=64,t=1,p=1"), std::string::npos) << user->passwordHash;
    // The session row holds SHA-256(token) in hex.
    std::array<unsigned char, crypto_hash_sha256_BYTES> h{};
    crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(s->token.data()), s->token.size());
    std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), h.data(), h.size());
    EXPECT_TRUE(env.s.db->sessionByTokenHash(hex.data()).value().has_value());
}

TEST(ServiceAccounts, DefaultCostIsOwaspAndLoginRehashes) {
    Env env;
    env.user("d@example.com");
    env.config.passwordHashMemoryBytes = ServiceConfig{}.passwordHashMemoryBytes;
    env.config.passwordHashOpsLimit = ServiceConfig{}.passwordHashOpsLimit;
    env.reopen();
    ASSERT_TRUE(env.svc().login({"d@example.com", "correct horse battery", ""}).ok());
    const auto hash = env.s.db->userByEmail("d@example.com").value()->passwordHash;
    // 19 MiB = 19456 KiB, t = 2, p = 1 (OWASP Password Storage Cheat Sheet).
    EXPECT_NE(hash.find("m=19456,t=2,p=1"), std::string::npos) << hash;
    EXPECT_TRUE(env.svc().login({"d@example.com", "correct horse battery", ""}).ok());
}

TEST(ServiceAccounts, ChangeName) {
    Env env;
    auto c = env.user("e@example.com");
    EXPECT_EQ(env.svc().changeName(c, "  New Name ")->name, "New Name");
    EXPECT_EQ(env.svc().changeName(c, "   ").error().id(), "validation_failed");
}

} // namespace
} // namespace quack::service
