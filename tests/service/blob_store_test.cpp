// The local blob store and upload slots: signed URLs (forged, tampered, expired, wrong method),
// size bound, type sniffing, objects appearing only on commit, key validation, ownership.
#include "service_test_util.h"

#include <sys/stat.h>

#include <gtest/gtest.h>


namespace quack::service {
namespace {

using Access = LocalBlobStore::Access;
using test::Env;

/// The URL with query parameter `name`'s value replaced (std::regex is avoided: GCC 12 warns
/// inside it under -O1 with sanitizers).
std::string replaceParam(const std::string& url, const std::string& name, const std::string& value) {
    for (const char sep : {'?', '&'}) {
        const auto at = url.find(sep + name + "=");
        if (at == std::string::npos)
            continue;
        const auto begin = at + name.size() + 2;
        const auto end = url.find('&', begin);
        std::string out = url;
        out.replace(begin, (end == std::string::npos ? url.size() : end) - begin, value);
        return out;
    }
    return url;
}

/// The URL without query parameter `name`.
std::string dropParam(const std::string& url, const std::string& name) {
    const auto at = url.find("&" + name + "=");
    if (at == std::string::npos)
        return url;
    const auto end = url.find('&', at + 1);
    return url.substr(0, at) + (end == std::string::npos ? "" : url.substr(end));
}

TEST(ServiceBlobs, SecretIsCreatedOnceWithMode0600) {
    test::TempDir dir;
    auto a = LocalBlobStore::loadOrCreateSecret(dir.file("secret.key"));
    auto b = LocalBlobStore::loadOrCreateSecret(dir.file("secret.key"));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->size(), 32u);
    EXPECT_EQ(a.value(), b.value());
    struct stat st{};
    ASSERT_EQ(::stat(dir.file("secret.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ServiceBlobs, KeyValidation) {
    for (const char* good : {"uploads/upl_abc", "masters/job_x-1.wav", "a"})
        EXPECT_TRUE(LocalBlobStore::validKey(good)) << good;
    for (const char* bad : {"", "/etc/passwd", "uploads/../secret.key", "..", "Uploads/x", "uploads//x",
                            "uploads/.x.tmp", "uploads/x y", "uploads/x%2f", "uploads/"})
        EXPECT_FALSE(LocalBlobStore::validKey(bad)) << bad;
}

TEST(ServiceBlobs, SignedPutRoundTripAndRejections) {
    Env env;
    auto c = env.user("a@example.com");
    const auto wav = test::musicWav(0.2);
    auto up = env.svc().createUpload(c, {"../../etc/My Mix.wav", static_cast<std::int64_t>(wav.size()), "audio/wav"});
    ASSERT_TRUE(up.ok());
    const std::string& url = up->url.url;
    EXPECT_EQ(up->url.method, "PUT");
    EXPECT_EQ(up->url.expiresAt, test::kStart + env.config.retention.uploadUrlSeconds);
    EXPECT_EQ(env.s.db->uploadById(up->uploadId).value()->filename, "My Mix.wav");
    const UnixSeconds now = env.clock->now();
    auto& blobs = *env.s.blobs;

    auto ok = blobs.verify(Access::Put, url, now);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->key, "uploads/" + up->uploadId);
    EXPECT_EQ(ok->maxBytes, static_cast<std::int64_t>(wav.size()));
    EXPECT_EQ(ok->contentType, "audio/wav");

    // Tampering with any signed field, a forged signature, a missing one, the other method.
    EXPECT_EQ(blobs.verify(Access::Put, replaceParam(url, "max", "999999999"), now).error().id(), "invalid_signature");
    EXPECT_EQ(blobs.verify(Access::Put, replaceParam(url, "expires", std::to_string(now + 99999)), now).error().id(),
              "invalid_signature");
    EXPECT_EQ(blobs.verify(Access::Put, replaceParam(url, "ct", "text%2Fhtml"), now).error().id(), "invalid_signature");
    EXPECT_EQ(blobs.verify(Access::Put, replaceParam(url, "sig", std::string(64, '0')), now).error().id(),
              "invalid_signature");
    EXPECT_EQ(blobs.verify(Access::Put, dropParam(url, "sig"), now).error().id(),
              "invalid_signature");
    EXPECT_EQ(blobs.verify(Access::Get, url, now).error().id(), "invalid_signature");
    EXPECT_EQ(blobs.verify(Access::Put, url + "&sig=00", now).error().id(), "invalid_signature");
    // Another key with this key's signature.
    std::string other = url;
    other.replace(other.find(up->uploadId), up->uploadId.size(), "upl_aaaaaaaaaaaaaaaaaaaaaa");
    EXPECT_EQ(blobs.verify(Access::Put, other, now).error().id(), "invalid_signature");
    // A signature from another secret.
    LocalBlobStore stranger(env.dir.file("x"), std::string(32, 'k'));
    auto forged = stranger.presignPut("uploads/" + up->uploadId, 1 << 30, "audio/wav", now + 60).value();
    EXPECT_EQ(blobs.verify(Access::Put, forged.url, now).error().id(), "invalid_signature");
    // Expired (valid signature, past expiry); path traversal.
    EXPECT_EQ(blobs.verify(Access::Put, url, up->url.expiresAt + 1).error().id(), "url_expired");
    EXPECT_EQ(blobs.verify(Access::Put, "/blob/../secret.key?expires=1&sig=00", now).error().id(), "not_found");

    // The object appears only on commit.
    auto w = blobs.openWriter(*ok);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->write(wav.data(), wav.size() / 2).ok());
    EXPECT_FALSE(env.blobExists("uploads/" + up->uploadId));
    ASSERT_TRUE((*w)->write(wav.data() + wav.size() / 2, wav.size() - wav.size() / 2).ok());
    EXPECT_FALSE(blobs.stat("uploads/" + up->uploadId).value().has_value());
    ASSERT_TRUE((*w)->commit().ok());
    ASSERT_TRUE(blobs.stat("uploads/" + up->uploadId).value().has_value());
    EXPECT_EQ(blobs.stat("uploads/" + up->uploadId).value()->size, static_cast<std::int64_t>(wav.size()));
    EXPECT_EQ(test::readBytes(*blobs.pathOf("uploads/" + up->uploadId)), wav);
}

TEST(ServiceBlobs, SizeBoundAndSniffingAndAbortLeaveNothing) {
    Env env;
    auto c = env.user("a@example.com");
    const auto wav = test::musicWav(0.1);
    auto up = env.svc().createUpload(c, {"a.wav", static_cast<std::int64_t>(wav.size()) - 1, "audio/wav"});
    ASSERT_TRUE(up.ok());
    auto tooBig = env.put(up->url, wav, 1000);
    ASSERT_FALSE(tooBig.ok());
    EXPECT_EQ(tooBig.error().id(), "payload_too_large");

    auto up2 = env.svc().createUpload(c, {"a.wav", 1000, "audio/wav"});
    std::vector<char> text(1000, 'a');
    auto wrong = env.put(up2->url, text, 3); // sniffed once 12 bytes have arrived, over 4 writes
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().id(), "unsupported_media_type");
    auto tiny = env.put(up2->url, std::vector<char>{'R', 'I', 'F'});
    EXPECT_EQ(tiny.error().id(), "unsupported_media_type");
    auto empty = env.put(up2->url, {});
    EXPECT_EQ(empty.error().id(), "malformed_request");

    { // abandoned writer: destructor removes the temp file
        auto grant = env.s.blobs->verify(Access::Put, up2->url.url, env.clock->now());
        auto w = env.s.blobs->openWriter(*grant);
        ASSERT_TRUE((*w)->write(wav.data(), 500).ok());
    }
    // Nothing at all is left in uploads/: no object, no temp files.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(env.dir.path / "blobs" / "uploads"))
        ++files;
    EXPECT_EQ(files, 0u);

    EXPECT_EQ(env.svc().createUpload(c, {"a.txt", 100, "text/plain"}).error().id(), "unsupported_media_type");
    EXPECT_EQ(env.svc().createUpload(c, {"a.wav", 0, "audio/wav"}).error().id(), "validation_failed");
    EXPECT_EQ(env.svc().createUpload(c, {"a.wav", env.config.maxUploadBytes + 1, "audio/wav"}).error().id(),
              "payload_too_large");
}

TEST(ServiceBlobs, SignedGetCarriesDownloadName) {
    Env env;
    auto& blobs = *env.s.blobs;
    const auto src = env.dir.file("m.wav");
    std::ofstream(src) << "data";
    ASSERT_TRUE(blobs.putFromFile("masters/job_a-1.wav", src, "audio/wav").ok());
    auto url = blobs.presignGet("masters/job_a-1.wav", "My Mix-master.wav", test::kStart + 60).value();
    auto g = blobs.verify(Access::Get, url.url, test::kStart);
    ASSERT_TRUE(g.ok()) << g.error().message;
    EXPECT_EQ(g->downloadName, "My Mix-master.wav");
    EXPECT_EQ(g->contentType, "audio/wav");
    EXPECT_EQ(blobs.verify(Access::Get, replaceParam(url.url, "dn", "evil.exe"), test::kStart).error().id(),
              "invalid_signature");
    EXPECT_EQ(blobs.verify(Access::Put, url.url, test::kStart).error().id(), "invalid_signature");
    ASSERT_TRUE(blobs.remove("masters/job_a-1.wav").ok());
    EXPECT_FALSE(blobs.pathOf("masters/job_a-1.wav").has_value());
    EXPECT_TRUE(blobs.remove("masters/job_a-1.wav").ok()); // idempotent
}

TEST(ServiceBlobs, OwnershipUploadsAndJobsAreNotFoundForOthers) {
    Env env;
    auto a = env.user("a@example.com");
    auto b = env.user("b@example.com");
    const auto id = env.upload(a, test::musicWav(0.5));
    auto asB = env.svc().createJob(b, {id, {}});
    ASSERT_FALSE(asB.ok());
    EXPECT_EQ(asB.error().id(), "not_found");
    auto job = env.svc().createJob(a, {id, {}});
    ASSERT_TRUE(job.ok()) << job.error().message;
    EXPECT_EQ(env.svc().getJob(b, job->job.id).error().id(), "not_found");
    EXPECT_EQ(env.svc().deleteJob(b, job->job.id).error().id(), "not_found");
    EXPECT_TRUE(env.svc().listJobs(b)->empty());
    EXPECT_EQ(env.svc().listJobs(a)->size(), 1u);
    EXPECT_EQ(env.svc().getJob(a, "job_doesnotexist").error().id(), "not_found");
    // The upload is used once; a job before the bytes arrived is a conflict.
    EXPECT_EQ(env.svc().createJob(a, {id, {}}).error().id(), "conflict");
    auto slot = env.svc().createUpload(a, {"x.wav", 100, "audio/wav"});
    EXPECT_EQ(env.svc().createJob(a, {slot->uploadId, {}}).error().id(), "conflict");
    // A still-valid PUT URL cannot write to a used upload.
    EXPECT_EQ(env.svc().checkUploadWritable("uploads/" + id).error().id(), "conflict");
    EXPECT_TRUE(env.svc().checkUploadWritable("uploads/" + slot->uploadId).ok());
    EXPECT_EQ(env.svc().checkUploadWritable("masters/x").error().id(), "not_found");
}

} // namespace
} // namespace quack::service
