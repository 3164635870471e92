// Use cases: accounts and sessions (register, sign in and out, authenticate, profile).
#include "service/app/internal.h"
#include "service/app/mastering_service.h"
#include "service/app/validation.h"

#include <sodium.h>

#include <algorithm>
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

/// Sliding-window counters keyed by SHA-256 of what they count (memory holds no personal data
/// in clear). A sign-in attempt *reserves* its slot before the password is checked, under the
/// lock, so parallel attempts cannot slip past the limit (issue 9, finding 6); a success
/// releases it.
struct MasteringService::State {
    std::mutex mutex;
    std::map<std::string, std::deque<UnixSeconds>> events;

    std::mutex dummyMutex;
    std::string dummyHash; // verified against when the email is unknown (equal timing)

    /// Events of `key` still inside the window (expired ones dropped).
    std::deque<UnixSeconds>& recent(const std::string& key, UnixSeconds now, std::int64_t window) {
        auto& q = events[key];
        while (!q.empty() && q.front() <= now - window)
            q.pop_front();
        return q;
    }
    /// Bounds the memory a spray of distinct keys can take.
    void prune(UnixSeconds now, std::int64_t window) {
        constexpr std::size_t kPruneAbove = 10000;
        if (events.size() > kPruneAbove)
            std::erase_if(events, [&](const auto& e) { return e.second.empty() || e.second.back() <= now - window; });
    }
};

namespace {

ApiError rateLimited(std::int64_t waitSeconds) {
    return apiError(ApiErrorCode::RateLimited, "too many attempts; try again in " +
                                                   std::to_string(std::max<std::int64_t>(waitSeconds, 1)) + " s");
}

} // namespace

MasteringService::MasteringService(ServiceConfig config, ServicePorts ports)
    : config_(std::move(config)), ports_(std::move(ports)), db_(*ports_.db), blobs_(*ports_.blobs),
      clock_(*ports_.clock), hasher_(*ports_.hasher), state_(std::make_shared<State>()) {
    [[maybe_unused]] const int rc = sodium_init();
    assert(rc >= 0 && "libsodium initialises");
}

ApiResult<UserProfile> MasteringService::registerUser(const RegisterRequest& request) {
    if (!request.clientAddress.empty()) {
        const UnixSeconds now = clock_.now();
        std::lock_guard lock(state_->mutex);
        auto& q = state_->recent(detail::sha256Hex("r:" + request.clientAddress), now, 3600);
        if (static_cast<int>(q.size()) >= config_.registrationsPerHour)
            return rateLimited(q.front() + 3600 - now);
        q.push_back(now); // counted whether or not it succeeds: a failed sign-up costs a hash too
        state_->prune(now, 3600);
    }
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
    const std::int64_t window = config_.loginWindowSeconds;
    // Per (account, address): the owner signing in from elsewhere is never affected by a
    // guesser here. Per address: one place spraying many accounts.
    const std::string pairKey = detail::sha256Hex("p:" + email + "\n" + request.clientAddress);
    const std::string addressKey = detail::sha256Hex("a:" + request.clientAddress);
    {
        std::lock_guard lock(state_->mutex);
        auto& pair = state_->recent(pairKey, now, window);
        const int failures = static_cast<int>(pair.size());
        if (failures >= config_.loginAttemptsPerWindow) {
            // Backoff: 1 s after the limit, doubling with every further failure, capped.
            const int over = failures - config_.loginAttemptsPerWindow;
            const std::int64_t wait = std::min<std::int64_t>(std::int64_t{1} << std::min(over, 20), window);
            if (now < pair.back() + wait)
                return rateLimited(pair.back() + wait - now);
        }
        auto& address = state_->recent(addressKey, now, window);
        if (!request.clientAddress.empty() && static_cast<int>(address.size()) >= config_.loginAttemptsPerAddress)
            return rateLimited(address.front() + window - now);
        // Reserve: counted as a failure until the password proves otherwise.
        pair.push_back(now);
        if (!request.clientAddress.empty())
            address.push_back(now);
        state_->prune(now, window);
    }
    auto release = [&] {
        std::lock_guard lock(state_->mutex);
        state_->events.erase(pairKey);
        auto it = state_->events.find(addressKey);
        if (it != state_->events.end() && !it->second.empty())
            it->second.pop_back();
    };

    std::string dummy;
    {
        std::lock_guard lock(state_->dummyMutex);
        if (state_->dummyHash.empty())
            if (auto h = hasher_.hash("not a real password, only for timing"))
                state_->dummyHash = h.value();
        dummy = state_->dummyHash;
    }
    const auto user = db_.userByEmail(email);
    if (!user) {
        release(); // our trouble, not the user's: not a failed attempt
        return user.error(); // a busy database is not "wrong password"
    }
    bool ok = false;
    if (request.password.size() <= kMaxPasswordBytes) {
        // Unknown email: verify against a dummy hash anyway so the response time does not tell
        // which emails have accounts.
        auto verified = hasher_.verify(*user ? (*user)->passwordHash : dummy, request.password);
        if (!verified) {
            release();
            return verified.error();
        }
        ok = verified.value() && user->has_value();
    }
    if (!ok)
        return apiError(ApiErrorCode::InvalidCredentials, "wrong email or password");
    release();
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
