#pragma once
/// Planar float audio: a non-owning AudioView and an owning AudioBuffer (choc style).
#include "engine/core/types.h"

#include <array>
#include <cassert>
#include <cstddef>
#include <vector>

namespace quack {

/// Non-owning view of planar float audio: `channel(c)[i]` is frame i of channel c.
/// Views never allocate; sub-views share the same memory.
template <typename Sample> struct BasicAudioView {
    std::array<Sample*, kMaxChannels> data{}; ///< one pointer per channel
    ChannelCount numChannels = 0;
    FrameCount numFrames = 0;

    Sample* channel(ChannelCount c) const {
        assert(c >= 0 && c < numChannels);
        return data[static_cast<std::size_t>(c)];
    }
    /// Frames [start, start + count) of this view.
    BasicAudioView subView(FrameCount start, FrameCount count) const {
        assert(start >= 0 && count >= 0 && start + count <= numFrames);
        BasicAudioView v = *this;
        for (ChannelCount c = 0; c < numChannels; ++c)
            v.data[static_cast<std::size_t>(c)] = data[static_cast<std::size_t>(c)] + start;
        v.numFrames = count;
        return v;
    }
    operator BasicAudioView<const Sample>() const {
        BasicAudioView<const Sample> v;
        for (ChannelCount c = 0; c < numChannels; ++c)
            v.data[static_cast<std::size_t>(c)] = data[static_cast<std::size_t>(c)];
        v.numChannels = numChannels;
        v.numFrames = numFrames;
        return v;
    }
};

using AudioView = BasicAudioView<float>;
using ConstAudioView = BasicAudioView<const float>;

/// Owning planar float buffer. Allocates only in the constructor and resize().
class AudioBuffer {
  public:
    AudioBuffer() = default;
    AudioBuffer(ChannelCount channels, FrameCount frames) { resize(channels, frames); }

    void resize(ChannelCount channels, FrameCount frames) {
        assert(channels >= 0 && channels <= kMaxChannels && frames >= 0);
        channels_ = channels;
        frames_ = frames;
        for (auto& ch : storage_)
            ch.clear();
        for (ChannelCount c = 0; c < channels; ++c)
            storage_[static_cast<std::size_t>(c)].assign(static_cast<std::size_t>(frames), 0.0f);
    }
    ChannelCount numChannels() const { return channels_; }
    FrameCount numFrames() const { return frames_; }
    float* channel(ChannelCount c) { return storage_[static_cast<std::size_t>(c)].data(); }
    const float* channel(ChannelCount c) const { return storage_[static_cast<std::size_t>(c)].data(); }

    /// View of the first `frames` frames (all by default).
    AudioView view(FrameCount frames = -1) {
        AudioView v;
        v.numChannels = channels_;
        v.numFrames = frames < 0 ? frames_ : frames;
        assert(v.numFrames <= frames_);
        for (ChannelCount c = 0; c < channels_; ++c)
            v.data[static_cast<std::size_t>(c)] = channel(c);
        return v;
    }
    ConstAudioView view(FrameCount frames = -1) const {
        return const_cast<AudioBuffer*>(this)->view(frames);
    }

  private:
    std::array<std::vector<float>, kMaxChannels> storage_;
    ChannelCount channels_ = 0;
    FrameCount frames_ = 0;
};

} // namespace quack
