#pragma once
/// Whole-track analysis in one streaming pass: everything `quacktracks analyze` reports and
/// everything the decisions need. Memory is constant in track length except the loudness
/// meter's 100 ms history.
#include "engine/analysis/loudness.h"
#include "engine/core/audio_buffer.h"

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <vector>

namespace quack {

/// Long-term spectrum on fractional-octave bands (1/3 octave, ISO 266 centres 20 Hz..20 kHz,
/// bands above 0.45 fs dropped). Levels are dB of mean power relative to a full-scale sine.
struct Spectrum {
    std::vector<double> centerHz;
    std::vector<double> levelDb;
};

/// Stereo image for one frequency band.
struct BandStereo {
    double lowHz = 0.0, highHz = 0.0;
    double correlation = 1.0; ///< -1..1 (1 = mono, 0 = uncorrelated, <0 = out of phase)
    double width = 0.0;       ///< side energy / mid energy (0 = mono, 1 = wide as L/R apart)
};

struct ClippingStats {
    FrameCount clippedSamples = 0; ///< samples at or above -0.1 dBFS that belong to runs of >= 3
    FrameCount clipRuns = 0;       ///< runs of >= 3 consecutive samples at or above -0.1 dBFS
    FrameCount longestRunFrames = 0;
};

struct Analysis {
    double sampleRate = 0.0;
    ChannelCount channels = 0;
    FrameCount frames = 0;
    double durationSeconds = 0.0;

    double integratedLufs = kSilenceLufs;
    double loudnessRangeLu = 0.0;
    double maxMomentaryLufs = kSilenceLufs;
    double maxShortTermLufs = kSilenceLufs;

    double samplePeakDbfs = -std::numeric_limits<double>::infinity();
    double truePeakDbtp = -std::numeric_limits<double>::infinity();
    double rmsDbfs = -std::numeric_limits<double>::infinity(); ///< whole-track RMS, all channels
    double crestFactorDb = 0.0; ///< sample peak - RMS (dB)
    double plrDb = 0.0;         ///< peak-to-loudness ratio: true peak - integrated loudness

    std::vector<double> dcOffset; ///< per channel, linear (mean sample value)
    double correlation = 1.0;     ///< whole-band stereo correlation (1 for mono)
    double width = 0.0;           ///< whole-band side/mid energy ratio (0 for mono)
    std::vector<BandStereo> bandStereo; ///< empty for mono

    Spectrum spectrum;     ///< mean of channels' power
    Spectrum midSpectrum;  ///< (L+R)/2; equals spectrum for mono
    Spectrum sideSpectrum; ///< (L-R)/2; empty for mono

    ClippingStats clipping;
    double leadingSilenceSeconds = 0.0;  ///< before the first sample above -60 dBFS
    double trailingSilenceSeconds = 0.0; ///< after the last sample above -60 dBFS
};

struct AnalysisOptions {
    bool spectrum = true; ///< long-term spectra and per-band stereo (FFT); off for speed-only uses
};

/// prepare in the constructor; process() does no allocation after the first few hops.
class Analyzer {
  public:
    Analyzer(double sampleRate, ChannelCount channels, AnalysisOptions options = {});
    ~Analyzer();
    Analyzer(Analyzer&&) noexcept;
    Analyzer& operator=(Analyzer&&) noexcept;

    void process(ConstAudioView block);
    /// The analysis of everything processed so far.
    Analysis finish() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// JSON for reports and `analyze --json`. Non-finite values (silence) become null.
nlohmann::json toJson(const Analysis& analysis);
nlohmann::json toJson(const Spectrum& spectrum);

} // namespace quack
