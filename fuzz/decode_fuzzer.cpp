// Every decoder path through openAudioFile (WAV/AIFF/FLAC/Vorbis/Opus via libsndfile, MP3 via
// mpg123, MP4/ADTS via FFmpeg) on in-memory bytes: open, read to the end (bounded), rewind,
// read again. Expected failures are Error values; anything else is a finding.
#include "engine/io/audio_source.h"
#include "fuzz/fuzz_util.h"

#include <new>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    quack::fuzz::MemFile file(data, size);
    if (!file.ok())
        return 0;
    quack::fuzz::AllocFailureScope failures;
    try {
        auto src = quack::openAudioFile(file.path());
        if (!src)
            return 0;
        auto& s = **src;
        quack::AudioBuffer buf(s.info().channels, 4096);
        // A few seconds at most: a tiny file may legitimately declare hours (chain/limits.h
        // bounds that for masters); the fuzzer is after memory errors, not long decodes.
        constexpr quack::FrameCount kMaxFrames = 1 << 20;
        for (int pass = 0; pass < 2; ++pass) {
            quack::FrameCount total = 0;
            while (total < kMaxFrames) {
                auto n = s.read(buf.view());
                if (!n || *n == 0)
                    break;
                total += *n;
            }
            if (!s.rewind())
                break;
        }
    } catch (const std::bad_alloc&) {
        // Only in the allocation-failure mode: C++ reports exhaustion by exception.
    }
    return 0;
}
