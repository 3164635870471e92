#pragma once
// Test signals and an independent loudness meter (libebur128) for the HTTP tests.
#include <string>

namespace quack::test {

/// Writes a music-like stereo WAV (16-bit, 44.1 kHz): a few detuned partials with a slow
/// tremolo and a little noise, at roughly -20 LUFS, so the mastering chain has real work.
void writeMusicWav(const std::string& path, double seconds);

struct Loudness {
    double integratedLufs = 0.0;
    double truePeakDbtp = 0.0;
    double seconds = 0.0;
};
/// Integrated loudness (BS.1770-4) and true peak of a file, measured with libebur128.
Loudness measureFile(const std::string& path);

std::string readFile(const std::string& path);

} // namespace quack::test
