// The error table is a contract with users and the service: ids and exit codes are stable.
#include "engine/core/audio_buffer.h"
#include "engine/core/biquad.h"
#include "engine/core/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace quack {
namespace {

TEST(ErrorTable, IdsAreUniqueSnakeCaseAndMapped) {
    std::set<std::string> ids;
    for (const auto& e : allErrorInfos()) {
        EXPECT_TRUE(ids.insert(std::string(e.id)).second) << e.id;
        for (char c : e.id)
            EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << e.id;
        EXPECT_NE(e.exitCode, 0);
        EXPECT_GE(e.httpStatus, 400);
        EXPECT_EQ(errorInfo(e.code).id, e.id);
    }
}

TEST(ErrorTable, StableValues) {
    // Documented in README/docs: changing these breaks scripts and API clients.
    EXPECT_EQ(errorInfo(ErrorCode::InvalidArgument).exitCode, 2);
    EXPECT_EQ(errorInfo(ErrorCode::FileNotFound).exitCode, 3);
    EXPECT_EQ(errorInfo(ErrorCode::CorruptFile).id, "corrupt_file");
    EXPECT_EQ(errorInfo(ErrorCode::CorruptFile).exitCode, 4);
    EXPECT_EQ(errorInfo(ErrorCode::WriteFailed).exitCode, 5);
    EXPECT_EQ(errorInfo(ErrorCode::Internal).exitCode, 70);
}

TEST(Result, HoldsValueOrError) {
    Result<int> good = 3;
    Result<int> bad = makeError(ErrorCode::TooLong, "long");
    EXPECT_TRUE(good.ok());
    EXPECT_EQ(*good, 3);
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().id(), "too_long");
}

TEST(AudioBuffer, ViewsShareMemory) {
    AudioBuffer b(2, 10);
    AudioView v = b.view();
    v.channel(1)[3] = 0.5f;
    EXPECT_EQ(b.channel(1)[3], 0.5f);
    AudioView sub = v.subView(2, 4);
    EXPECT_EQ(sub.numFrames, 4);
    EXPECT_EQ(sub.channel(1)[1], 0.5f);
}

TEST(Biquad, DesignsHaveTheirDefiningResponse) {
    const double fs = 48000;
    // Cookbook designs: the gain at f0 of a peaking filter is its gain; a 2nd-order
    // Butterworth high-pass is -3.01 dB at its cutoff. 1e-6 dB: pure double arithmetic.
    EXPECT_NEAR(BiquadCoeffs::peaking(1000, 1.0, 6.0, fs).magnitudeDb(1000, fs), 6.0, 1e-6);
    EXPECT_NEAR(BiquadCoeffs::highPass(100, M_SQRT1_2, fs).magnitudeDb(100, fs), -3.0103, 1e-3);
    EXPECT_NEAR(BiquadCoeffs::lowShelf(200, M_SQRT1_2, -4.0, fs).magnitudeDb(10, fs), -4.0, 0.01);
    EXPECT_NEAR(BiquadCoeffs::highShelf(5000, M_SQRT1_2, 3.0, fs).magnitudeDb(20000, fs), 3.0, 0.05);
    Biquad b;
    b.setCoeffs(BiquadCoeffs::identity());
    EXPECT_DOUBLE_EQ(b.processSample(0.25), 0.25);
}

} // namespace
} // namespace quack
