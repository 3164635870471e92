// Use cases: accounts and sessions (register, sign in and out, authenticate, profile).
#include "service/app/internal.h"
#include "service/app/mastering_service.h"
#include "service/app/validation.h"

#include <sodium.h>

#include <array>
#include <cassert>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

namespace quack::service {
namespace {

constexpr std::size_t kTokenBytes = 32; // 256 bits
/// Only write last_seen_at when it moved this much: a write per request would serialise reads.
constexpr std::int64_t kTouchSessionSeconds = 60;

std::string base64Url(const unsigned char* p, std::size_t n) {
    std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(std::strlen(out.c_str()));
    return out;
}

UserProfile profileOf(const User& u) { return UserProfile{u.id, u.email, u.name, u.createdAt}; }

/// A new session row; the token is handed out only if the row was stored.
ApiResult<NewSession> createSession(Database& db, const ServiceConfig& config, UnixSeconds now,
                                    const UserProfile& user) {
    std::array<unsigned char, kTokenBytes> raw{};
    randombytes_buf(raw.data(), raw.size());
    NewSession s;
    s.token = base64Url(raw.data(), raw.size());
    s.expiresAt = now + config.sessionSeconds;
    s.user = user;
    if (auto st = db.insertSession(Session{detail::sha256Hex(s.token), user.id, now, now, s.expiresAt}); !st)
        return st.error();
    return s;
}

ApiError signInFirst() { return apiError(ApiErrorCode::Unauthenticated, "sign in first"); }

} // namespace

struct MasteringService::State {
    // Login rate limiter: failure times per key in a sliding window. Keys are SHA-256 of
    // "e:"+email / "a:"+address so that memory holds no personal data in clear.
    std::mutex limiterMutex;
    std::map<std::string, std::deque<UnixSeconds>> failures;

    std::mutex dummyMutex;
    std::string dummyHash; // verified against when the email is unknown (equal timing)
};

MasteringService::MasteringService(ServiceConfig config, ServicePorts ports)
    : config_(std::move(config)), ports_(std::move(ports)), db_(*ports_.db), blobs_(*ports_.blobs),
      clock_(*ports_.clock), hasher_(*ports_.hasher), state_(std::make_shared<State>()) {
    [[maybe_unused]] const int rc = sodium_init();
    assert(rc >= 0 && "libsodium initialises");
}

ApiResult<UserProfile> MasteringService::registerUser(const RegisterRequest& request) {
    const std::string email = normaliseEmail(request.email);
    if (!plausibleEmail(email))
        return apiError(ApiErrorCode::ValidationFailed, "email is not a valid address");
    if (auto p = validatePassword(request.password); !p)
        return p.error();
    auto name = validateName(request.name);
    if (!name)
        return name.error();
    auto existing = db_.userByEmail(email);
    if (!existing)
        return existing.error();
    if (*existing)
        return apiError(ApiErrorCode::EmailTaken, "an account with this email already exists");
    auto hash = hasher_.hash(request.password);
    if (!hash)
        return hash.error();
    User user{detail::randomId("usr_"), email, name.value(), hash.value(), clock_.now()};
    if (auto s = db_.insertUser(user); !s)
        return s.error();
    return profileOf(user);
}

ApiResult<NewSession> MasteringService::registerAndLogin(const RegisterRequest& request) {
    auto user = registerUser(request);
    if (!user)
        return user.error();
    return createSession(db_, config_, clock_.now(), user.value());
}

ApiResult<NewSession> MasteringService::login(const LoginRequest& request) {
    const std::string email = normaliseEmail(request.email);
    const UnixSeconds now = clock_.now();
    const std::string emailKey = detail::sha256Hex("e:" + email);
    const std::string addressKey = detail::sha256Hex("a:" + request.clientAddress);

    auto recentFailures = [&](const std::string& key) -> int {
        auto it = state_->failures.find(key);
        if (it == state_->failures.end())
            return 0;
        auto& q = it->second;
        while (!q.empty() && q.front() <= now - config_.loginWindowSeconds)
            q.pop_front();
        const int n = static_cast<int>(q.size());
        if (q.empty())
            state_->failures.erase(it);
        return n;
    };
    {
        std::lock_guard lock(state_->limiterMutex);
        if (recentFailures(emailKey) >= config_.loginAttemptsPerWindow ||
            (!request.clientAddress.empty() && recentFailures(addressKey) >= config_.loginAttemptsPerWindow))
            return apiError(ApiErrorCode::RateLimited, "too many failed sign-in attempts; wait a minute");
    }

    std::string dummy;
    {
        std::lock_guard lock(state_->dummyMutex);
        if (state_->dummyHash.empty())
            if (auto h = hasher_.hash("not a real password, only for timing"))
                state_->dummyHash = h.value();
        dummy = state_->dummyHash;
    }
    const auto user = db_.userByEmail(email);
    if (!user)
        return user.error(); // a busy database is not "wrong password"
    bool ok = false;
    if (request.password.size() <= kMaxPasswordBytes) {
        // Unknown email: verify against a dummy hash anyway so the response time does not tell
        // which emails have accounts.
        auto verified = hasher_.verify(*user ? (*user)->passwordHash : dummy, request.password);
        if (!verified)
            return verified.error();
        ok = verified.value() && user->has_value();
    }
    if (!ok) {
        std::lock_guard lock(state_->limiterMutex);
        // Bound the memory a spray of distinct emails/addresses can take: past this size, drop
        // every key whose failures have all left the window.
        constexpr std::size_t kPruneAbove = 10000;
        if (state_->failures.size() > kPruneAbove)
            std::erase_if(state_->failures, [&](const auto& entry) {
                return entry.second.empty() || entry.second.back() <= now - config_.loginWindowSeconds;
            });
        state_->failures[emailKey].push_back(now);
        if (!request.clientAddress.empty())
            state_->failures[addressKey].push_back(now);
        return apiError(ApiErrorCode::InvalidCredentials, "wrong email or password");
    }
    {
        std::lock_guard lock(state_->limiterMutex);
        state_->failures.erase(emailKey);
    }
    const User& found = **user;
    // Parameters raised since this hash was made (e.g. tests -> OWASP): rehash now, while we
    // hold the password. Best effort: a busy hasher or database retries at the next sign-in.
    if (hasher_.needsRehash(found.passwordHash))
        if (auto h = hasher_.hash(request.password))
            (void)db_.updatePasswordHash(found.id, h.value());
    return createSession(db_, config_, now, profileOf(found));
}

ApiStatus MasteringService::logout(const Caller& caller) {
    if (caller.sessionTokenHash.empty())
        return {};
    return db_.deleteSession(caller.sessionTokenHash);
}

ApiResult<Caller> MasteringService::authenticate(const std::string& sessionToken) {
    // base64url of 32 bytes is 43 characters; anything else was never issued by us.
    if (sessionToken.size() != 43)
        return signInFirst();
    const std::string tokenHash = detail::sha256Hex(sessionToken);
    auto session = db_.sessionByTokenHash(tokenHash);
    if (!session)
        return session.error();
    if (!*session)
        return signInFirst();
    const Session& s = **session;
    const UnixSeconds now = clock_.now();
    if (now >= s.expiresAt || now >= s.lastSeenAt + config_.sessionIdleSeconds) {
        (void)db_.deleteSession(tokenHash); // expired either way; the sweeper retries
        return signInFirst();
    }
    if (now - s.lastSeenAt >= kTouchSessionSeconds)
        (void)db_.touchSession(tokenHash, now); // best effort: only the idle timer's resolution
    return Caller{s.userId, tokenHash};
}

ApiResult<UserProfile> MasteringService::me(const Caller& caller) {
    auto user = db_.userById(caller.userId);
    if (!user)
        return user.error();
    if (!*user)
        return signInFirst();
    return profileOf(**user);
}

ApiResult<UserProfile> MasteringService::changeName(const Caller& caller, const std::string& rawName) {
    auto name = validateName(rawName);
    if (!name)
        return name.error();
    auto user = me(caller);
    if (!user)
        return user.error();
    if (auto s = db_.updateUserName(caller.userId, name.value()); !s)
        return s.error();
    return me(caller);
}

} // namespace quack::service
