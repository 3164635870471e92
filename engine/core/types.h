#pragma once
/// Named count types shared by the whole engine (choc style): frames are per-channel sample
/// instants, samples are frames x channels.
#include <cstdint>

namespace quack {

/// A count of frames (one sample per channel). Signed so differences are safe.
using FrameCount = std::int64_t;
/// A count of channels. QuackTracks handles 1 or 2.
using ChannelCount = int;

/// The most channels the engine processes; more is rejected with ErrorCode::TooManyChannels.
inline constexpr ChannelCount kMaxChannels = 2;
/// Supported sample-rate range in Hz (inclusive).
inline constexpr int kMinSampleRate = 8000;
inline constexpr int kMaxSampleRate = 384000;
/// Longest input accepted, in seconds (3 hours).
inline constexpr double kMaxDurationSeconds = 3.0 * 3600.0;

} // namespace quack
