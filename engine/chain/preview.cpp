#include "engine/chain/preview.h"

#include "engine/chain/report_util.h"

#include "engine/analysis/analyzer.h"
#include "engine/analysis/loudness.h"
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"
#include "engine/io/dither.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <numbers>

namespace quack {
namespace {

using chain_detail::fmt;
using chain_detail::TempFileGuard;

constexpr FrameCount kBlock = 4096;

double energyToLufs(double e) {
    return e > 0.0 ? -0.691 + 10.0 * std::log10(e) : -std::numeric_limits<double>::infinity();
}

/// Streams frames [start, start + count) of `src` (from its beginning), faded in and out by
/// kPreviewFadeMs raised-cosine ramps and scaled by `gain`, to `fn`.
Status forExcerpt(AudioSource& src, FrameCount start, FrameCount count, double gain,
                  const std::function<Status(AudioView)>& fn) {
    if (auto s = src.rewind(); !s)
        return s;
    const AudioFileInfo& info = src.info();
    const auto fade = std::min<FrameCount>(count / 2, static_cast<FrameCount>(std::llround(
                                                          kPreviewFadeMs * 1e-3 * info.sampleRate)));
    AudioBuffer buf(info.channels, kBlock);
    FrameCount pos = 0; // file position of buf's first frame
    const FrameCount end = start + count;
    while (pos < end) {
        auto n = src.read(buf.view());
        if (!n)
            return n.error();
        if (*n == 0)
            break;
        const FrameCount from = std::max(pos, start), to = std::min(pos + *n, end);
        if (from < to) {
            AudioView v = buf.view(*n).subView(from - pos, to - from);
            for (FrameCount i = 0; i < v.numFrames; ++i) {
                const FrameCount k = from + i - start; // index within the excerpt
                double g = gain;
                if (k < fade)
                    g *= 0.5 - 0.5 * std::cos(std::numbers::pi * static_cast<double>(k) / static_cast<double>(fade));
                else if (k >= count - fade)
                    g *= 0.5 - 0.5 * std::cos(std::numbers::pi * static_cast<double>(count - 1 - k) /
                                              static_cast<double>(fade));
                for (ChannelCount c = 0; c < v.numChannels; ++c)
                    v.channel(c)[i] = static_cast<float>(static_cast<double>(v.channel(c)[i]) * g);
            }
            if (auto s = fn(v); !s)
                return s;
        }
        pos += *n;
    }
    return Status::success();
}

struct ExcerptLevel {
    double lufs = 0.0;
    double truePeakDbtp = 0.0;
};

Result<ExcerptLevel> measureExcerpt(AudioSource& src, FrameCount start, FrameCount count, double gain) {
    Analyzer analyzer(src.info().sampleRate, src.info().channels, AnalysisOptions{false});
    if (auto s = forExcerpt(src, start, count, gain, [&](AudioView v) {
            analyzer.process(v);
            return Status::success();
        });
        !s)
        return s.error();
    const Analysis a = analyzer.finish();
    return ExcerptLevel{a.integratedLufs, a.truePeakDbtp};
}

Status writeExcerpt(AudioSource& src, FrameCount start, FrameCount count, double gain,
                    const std::string& path, std::uint64_t seed) {
    const AudioFileInfo& info = src.info();
    TempFileGuard temp{temporaryPathBeside(path)};
    WriterOptions wopt;
    wopt.format = OutputFormat::Wav24;
    wopt.sampleRate = info.sampleRate;
    wopt.channels = info.channels;
    auto writer = createAudioWriter(temp.path, wopt);
    if (!writer)
        return writer.error();
    Ditherer dither;
    dither.prepare(24, info.channels, seed);
    if (auto s = forExcerpt(src, start, count, gain, [&](AudioView v) {
            dither.process(v);
            return (*writer)->write(v);
        });
        !s)
        return s;
    if (auto s = (*writer)->close(); !s)
        return s;
    if (auto s = commitFile(temp.path, path); !s)
        return s;
    temp.committed = true;
    return Status::success();
}

} // namespace

Result<PreviewOutcome> writePreviews(const PreviewRequest& req) {
    if (!(req.seconds >= kMinPreviewSeconds && req.seconds <= kMaxPreviewSeconds))
        return makeError(ErrorCode::InvalidArgument,
                         "--preview takes " + std::to_string(static_cast<int>(kMinPreviewSeconds)) + " to " +
                             std::to_string(static_cast<int>(kMaxPreviewSeconds)) + " seconds");
    auto master = openAudioFile(req.masterPath);
    if (!master)
        return master.error();
    auto original = openAudioFile(req.originalPath);
    if (!original)
        return original.error();
    AudioSource& m = **master;
    AudioSource& o = **original;
    const double mRate = m.info().sampleRate, oRate = o.info().sampleRate;

    // Where: the window of the master whose ungated loudness is closest to the whole track's
    // integrated loudness, stepped by the meter's 100 ms hops (earliest wins ties).
    LoudnessMeter meter(mRate, m.info().channels);
    {
        AudioBuffer buf(m.info().channels, kBlock);
        for (;;) {
            auto n = m.read(buf.view());
            if (!n)
                return n.error();
            if (*n == 0)
                break;
            meter.process(buf.view(*n));
        }
    }
    const std::span<const double> hops = meter.hopEnergies();
    const double trackLufs = meter.integratedLufs();
    const FrameCount hopFrames = LoudnessMeter::hopFramesFor(mRate);
    const double mSeconds = static_cast<double>(meter.framesProcessed()) / mRate;
    const double oSeconds = static_cast<double>(o.info().frames) / oRate - req.originalOffsetSeconds;
    const double seconds = std::min({req.seconds, mSeconds, oSeconds});
    const auto windowHops = static_cast<size_t>(std::floor(seconds * 10.0));
    size_t bestHop = 0;
    if (windowHops > 0 && hops.size() > windowHops && std::isfinite(trackLufs)) {
        double sum = 0.0;
        for (size_t k = 0; k < windowHops; ++k)
            sum += hops[k];
        double bestDistance = std::numeric_limits<double>::infinity();
        for (size_t h = 0; h + windowHops <= hops.size(); ++h) {
            if (h > 0)
                sum += hops[h + windowHops - 1] - hops[h - 1];
            const double d = std::abs(energyToLufs(sum / static_cast<double>(windowHops)) - trackLufs);
            if (d < bestDistance - 1e-9) {
                bestDistance = d;
                bestHop = h;
            }
        }
    }
    const double startSeconds = static_cast<double>(bestHop) * static_cast<double>(hopFrames) / mRate;
    const auto mStart = static_cast<FrameCount>(bestHop) * hopFrames;
    const auto mCount = static_cast<FrameCount>(std::llround(seconds * mRate));
    const auto oStart = static_cast<FrameCount>(std::llround((startSeconds + req.originalOffsetSeconds) * oRate));
    const auto oCount = std::min(static_cast<FrameCount>(std::llround(seconds * oRate)),
                                 std::max<FrameCount>(0, o.info().frames - oStart));

    // How loud: both at the master excerpt's loudness, unless the original cannot get there
    // under the ceiling; then both at the most the original can take.
    auto mLevel = measureExcerpt(m, mStart, mCount, 1.0);
    if (!mLevel)
        return mLevel.error();
    auto oLevel = measureExcerpt(o, oStart, oCount, 1.0);
    if (!oLevel)
        return oLevel.error();
    PreviewOutcome out;
    out.startSeconds = startSeconds;
    out.durationSeconds = seconds;
    std::string levelReason;
    if (!std::isfinite(mLevel->lufs) || !std::isfinite(oLevel->lufs)) {
        levelReason = "an excerpt is silent: both are written at their own level";
    } else {
        double common = mLevel->lufs;
        const double originalMax = oLevel->lufs + (req.ceilingDbtp - oLevel->truePeakDbtp);
        if (originalMax < common) {
            common = originalMax;
            levelReason = "the original reaches only " + fmt("%.2f", originalMax) +
                          " LUFS before its true peak meets the ceiling, so the master's excerpt is "
                          "turned down to meet it there";
        } else {
            levelReason = "the original's excerpt is raised to the master excerpt's loudness";
        }
        out.masterGainDb = common - mLevel->lufs;
        out.originalGainDb = common - oLevel->lufs;
        out.lufs = common;
    }
    const double mGain = std::pow(10.0, out.masterGainDb / 20.0);
    const double oGain = std::pow(10.0, out.originalGainDb / 20.0);
    if (auto s = writeExcerpt(m, mStart, mCount, mGain, req.masterOut, req.ditherSeed); !s)
        return s.error();
    if (auto s = writeExcerpt(o, oStart, oCount, oGain, req.originalOut, req.ditherSeed + 1); !s)
        return s.error();
    out.masterLufs = mLevel->lufs + out.masterGainDb;
    out.originalLufs = oLevel->lufs + out.originalGainDb;

    constexpr auto r2 = chain_detail::round2OrNull;
    out.report = {
        {"start_seconds", r2(out.startSeconds)},
        {"duration_seconds", r2(out.durationSeconds)},
        {"fade_ms", kPreviewFadeMs},
        {"lufs", r2(out.lufs)},
        {"master_gain_db", r2(out.masterGainDb)},
        {"original_gain_db", r2(out.originalGainDb)},
        {"master_file", std::filesystem::path(req.masterOut).filename().string()},
        {"original_file", std::filesystem::path(req.originalOut).filename().string()},
        {"section_reason", "the passage whose loudness is closest to the whole track's (" + fmt("%.2f", trackLufs) +
                               " LUFS): the most typical part, not the intro or only the loudest"},
        {"level_reason", levelReason},
    };
    return out;
}

} // namespace quack
