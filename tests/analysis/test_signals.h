#pragma once
/// Signal generators and peers shared by the analysis tests: EBU Tech 3341/3342 tone sequences,
/// music-like synthetic material, and a libebur128 reference measurement.
#include "engine/core/audio_buffer.h"

#include <ebur128.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace quack::test {

/// One segment of a tone sequence: level per channel (dBFS, sine peak) and duration.
struct Segment {
    double levelDbfs;
    double seconds;
};

/// EBU Tech 3341/3342 test tone: stereo (or mono) 1 kHz sine, the same on every channel, whose
/// amplitude steps between segments while the phase runs on continuously.
inline AudioBuffer toneSequence(double fs, const std::vector<Segment>& segments, ChannelCount channels = 2,
                                double hz = 1000.0) {
    FrameCount total = 0;
    for (const auto& s : segments)
        total += static_cast<FrameCount>(std::llround(s.seconds * fs));
    AudioBuffer buf(channels, total);
    FrameCount n = 0;
    for (const auto& s : segments) {
        const FrameCount len = static_cast<FrameCount>(std::llround(s.seconds * fs));
        const double amp = std::pow(10.0, s.levelDbfs / 20.0);
        for (FrameCount i = 0; i < len; ++i, ++n) {
            const auto v = static_cast<float>(amp * std::sin(2.0 * std::numbers::pi * hz * static_cast<double>(n) / fs));
            for (ChannelCount c = 0; c < channels; ++c)
                buf.channel(c)[n] = v;
        }
    }
    return buf;
}

/// Small deterministic PRNG (xorshift64*), uniform in [-1, 1).
class Noise {
  public:
    explicit Noise(std::uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    double next() {
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        const std::uint64_t r = s_ * 0x2545F4914F6CDD1Dull;
        return static_cast<double>(r >> 11) * (2.0 / 9007199254740992.0) - 1.0;
    }

  private:
    std::uint64_t s_;
};

/// Music-like noise: partly correlated stereo pink-ish noise through a song-form envelope
/// (verse, chorus, breakdown, louder chorus, fade) with a decaying "kick" every 0.5 s.
inline AudioBuffer musicLikeNoise(double fs, double seconds, std::uint64_t seed) {
    const auto frames = static_cast<FrameCount>(seconds * fs);
    AudioBuffer buf(2, frames);
    Noise common(seed), left(seed + 1), right(seed + 2);
    double lpC = 0, lpL = 0, lpR = 0;
    const double a = std::exp(-2.0 * std::numbers::pi * 800.0 / fs); // one-pole tilt at 800 Hz
    for (FrameCount i = 0; i < frames; ++i) {
        const double t = static_cast<double>(i) / fs, u = t / seconds;
        double levelDb;
        if (u < 0.25)
            levelDb = -22.0; // verse
        else if (u < 0.45)
            levelDb = -13.0; // chorus
        else if (u < 0.55)
            levelDb = -30.0; // breakdown
        else if (u < 0.8)
            levelDb = -10.0; // last chorus
        else
            levelDb = -10.0 - 50.0 * (u - 0.8) / 0.2; // fade out to -60
        const double env = std::pow(10.0, levelDb / 20.0);
        const double beat = std::fmod(t, 0.5);
        const double kick = 0.8 * std::exp(-beat * 25.0) * std::sin(2.0 * std::numbers::pi * 55.0 * beat);
        lpC = (1 - a) * common.next() + a * lpC;
        lpL = (1 - a) * left.next() + a * lpL;
        lpR = (1 - a) * right.next() + a * lpR;
        const double c = 3.0 * lpC + 0.3 * common.next() + kick;
        buf.channel(0)[i] = static_cast<float>(env * (c + 1.5 * lpL));
        buf.channel(1)[i] = static_cast<float>(env * (c + 1.5 * lpR));
    }
    return buf;
}

/// Chords: a triad plus bass per 2 s bar, each bar at its own level (-32..-8 dBFS), notes with a
/// fast attack and exponential decay; the right channel is slightly detuned.
inline AudioBuffer chordProgression(double fs, double seconds) {
    const auto frames = static_cast<FrameCount>(seconds * fs);
    AudioBuffer buf(2, frames);
    const double roots[] = {220.0, 174.61, 261.63, 196.0, 246.94, 164.81};
    const double levels[] = {-20.0, -14.0, -26.0, -8.0, -32.0, -12.0, -18.0};
    for (FrameCount i = 0; i < frames; ++i) {
        const double t = static_cast<double>(i) / fs;
        const auto bar = static_cast<size_t>(t / 2.0);
        const double tb = t - 2.0 * static_cast<double>(bar);
        const double root = roots[bar % 6];
        const double env = std::pow(10.0, levels[bar % 7] / 20.0) * std::min(1.0, tb * 200.0) * std::exp(-tb * 0.8);
        double l = 0, r = 0;
        for (double ratio : {1.0, 1.259921, 1.498307}) { // root, major third, fifth
            l += std::sin(2.0 * std::numbers::pi * root * ratio * t);
            r += std::sin(2.0 * std::numbers::pi * root * ratio * 1.002 * t + 0.3);
        }
        const double bass = 0.8 * std::sin(2.0 * std::numbers::pi * root / 4.0 * t);
        buf.channel(0)[i] = static_cast<float>(env * (0.3 * l + bass));
        buf.channel(1)[i] = static_cast<float>(env * (0.3 * r + bass));
    }
    return buf;
}

/// Integrated loudness by libebur128 (list mode, EBUR128_MODE_I), the peer we agree with.
inline double ebur128Integrated(const AudioBuffer& buf, double fs) {
    const ChannelCount ch = buf.numChannels();
    ebur128_state* st = ebur128_init(static_cast<unsigned>(ch), static_cast<unsigned long>(fs), EBUR128_MODE_I);
    std::vector<float> inter(static_cast<size_t>(buf.numFrames() * ch));
    for (FrameCount i = 0; i < buf.numFrames(); ++i)
        for (ChannelCount c = 0; c < ch; ++c)
            inter[static_cast<size_t>(i * ch + c)] = buf.channel(c)[i];
    ebur128_add_frames_float(st, inter.data(), static_cast<size_t>(buf.numFrames()));
    double out = 0.0;
    ebur128_loudness_global(st, &out);
    ebur128_destroy(&st);
    return out;
}

/// View of the whole buffer fed to `sink` in blocks of `blockFrames`.
template <typename Sink> void feedInBlocks(const AudioBuffer& buf, FrameCount blockFrames, Sink&& sink) {
    const ConstAudioView all = buf.view();
    for (FrameCount i = 0; i < all.numFrames; i += blockFrames)
        sink(all.subView(i, std::min(blockFrames, all.numFrames - i)));
}

} // namespace quack::test
