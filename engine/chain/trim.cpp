#include "engine/chain/trim.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace quack {
namespace {

constexpr FrameCount kBlock = 4096;

class TrimmedSource final : public AudioSource {
  public:
    TrimmedSource(AudioSource& inner, SoundRange range) : inner_(inner), range_(range) {
        info_ = inner.info();
        info_.frames = range.frames;
        info_.durationSeconds = static_cast<double>(range.frames) / info_.sampleRate;
        skip_.resize(info_.channels, kBlock);
    }
    const AudioFileInfo& info() const override { return info_; }
    Result<FrameCount> read(AudioView block) override {
        // Skip to the start on the first read after a rewind.
        while (skipped_ < range_.start) {
            const FrameCount n = std::min(kBlock, range_.start - skipped_);
            auto r = inner_.read(skip_.view(n));
            if (!r)
                return r.error();
            if (*r == 0)
                return FrameCount{0};
            skipped_ += *r;
        }
        const FrameCount want = std::min(block.numFrames, range_.frames - delivered_);
        if (want <= 0)
            return FrameCount{0};
        auto r = inner_.read(block.subView(0, want));
        if (!r)
            return r.error();
        delivered_ += *r;
        return *r;
    }
    Status rewind() override {
        skipped_ = delivered_ = 0;
        return inner_.rewind();
    }

  private:
    AudioSource& inner_;
    SoundRange range_;
    AudioFileInfo info_;
    AudioBuffer skip_;
    FrameCount skipped_ = 0, delivered_ = 0;
};

} // namespace

Result<SoundRange> findSoundRange(AudioSource& source) {
    if (auto s = source.rewind(); !s)
        return s.error();
    AudioBuffer buf(source.info().channels, kBlock);
    FrameCount pos = 0, first = -1, last = -1;
    for (;;) {
        auto n = source.read(buf.view());
        if (!n)
            return n.error();
        if (*n == 0)
            break;
        for (FrameCount i = 0; i < *n; ++i) {
            bool sound = false;
            for (ChannelCount c = 0; c < buf.numChannels(); ++c)
                sound = sound || std::abs(buf.channel(c)[i]) > kDigitalSilence;
            if (sound) {
                if (first < 0)
                    first = pos + i;
                last = pos + i;
            }
        }
        pos += *n;
    }
    if (auto s = source.rewind(); !s)
        return s.error();
    if (first < 0)
        return SoundRange{0, 0};
    return SoundRange{first, last - first + 1};
}

std::unique_ptr<AudioSource> makeTrimmedSource(AudioSource& inner, SoundRange range) {
    return std::make_unique<TrimmedSource>(inner, range);
}

double FadeShape::gainAt(FrameCount frame) const {
    double g = 1.0;
    // Half a raised cosine: 0 at the outer edge, 1 where the fade ends, zero slope at both.
    if (fadeInFrames > 0 && frame < fadeInFrames)
        g *= 0.5 - 0.5 * std::cos(std::numbers::pi * static_cast<double>(frame) / static_cast<double>(fadeInFrames));
    const FrameCount fromEnd = totalFrames - 1 - frame;
    if (fadeOutFrames > 0 && fromEnd < fadeOutFrames)
        g *= 0.5 - 0.5 * std::cos(std::numbers::pi * static_cast<double>(std::max<FrameCount>(0, fromEnd)) /
                                  static_cast<double>(fadeOutFrames));
    return g;
}

void FadeShape::apply(AudioView block, FrameCount firstFrame) const {
    if (!active())
        return;
    const FrameCount end = firstFrame + block.numFrames;
    // Only the frames inside a fade are touched (bit-exact elsewhere).
    const bool inFadeIn = firstFrame < fadeInFrames;
    const bool inFadeOut = end > totalFrames - fadeOutFrames;
    if (!inFadeIn && !inFadeOut)
        return;
    for (FrameCount i = 0; i < block.numFrames; ++i) {
        const FrameCount f = firstFrame + i;
        if (f >= fadeInFrames && f < totalFrames - fadeOutFrames)
            continue;
        const auto g = static_cast<float>(gainAt(f));
        for (ChannelCount c = 0; c < block.numChannels; ++c)
            block.channel(c)[i] *= g;
    }
}

} // namespace quack
