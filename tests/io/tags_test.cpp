// Tags through TagLib: ISRC and --tag validation, round trips into every output format,
// which input tags are carried and which dropped, and that an empty set removes everything.
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"
#include "engine/io/tags.h"
#include "tests/io/io_test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quack {
namespace {

using test::TempDir;

void writeTone(const std::string& path, OutputFormat format, int rate) {
    WriterOptions o;
    o.format = format;
    o.sampleRate = rate;
    o.channels = 2;
    auto w = createAudioWriter(path, o);
    ASSERT_TRUE(w.ok()) << w.error().message;
    std::vector<float> x(static_cast<size_t>(rate / 2));
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>(0.25 * std::sin(0.05 * static_cast<double>(i)));
    ASSERT_TRUE((*w)->write(ConstAudioView{{x.data(), x.data()}, 2, static_cast<FrameCount>(x.size())}).ok());
    ASSERT_TRUE((*w)->close().ok());
}

TEST(Isrc, ValidFormsAreNormalised) {
    EXPECT_EQ(normaliseIsrc("US-RC1-76-07839").value(), "USRC17607839");
    EXPECT_EQ(normaliseIsrc("usrc17607839").value(), "USRC17607839");
    EXPECT_EQ(normaliseIsrc("GB-A1B-23-00001").value(), "GBA1B2300001");
}

TEST(Isrc, BadFormsAreInvalidArgument) {
    for (const char* bad : {"", "US-RC1-76-0783", "US-RC1-76-078399", "1S-RC1-76-07839",
                            "US-R_1-76-07839", "US-RC1-7A-07839", "US RC1 76 07839", "ÜS-RC1-76-07839"}) {
        auto r = normaliseIsrc(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
        EXPECT_NE(r.error().message.find("CC-XXX-YY-NNNNN"), std::string::npos);
    }
}

TEST(UserTags, ParsesAssignmentsAndIsrc) {
    TagRequest req;
    req.assignments = {"title=Duck Song", "ARTIST=Quack", "ARTIST=Mallard", "comment=a=b",
                       "TRACKNUMBER=3/12"};
    req.isrc = "us-rc1-76-07839";
    auto t = userTags(req);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->at("TITLE"), std::vector<std::string>{"Duck Song"});
    EXPECT_EQ(t->at("ARTIST"), (std::vector<std::string>{"Quack", "Mallard"}));
    EXPECT_EQ(t->at("COMMENT"), std::vector<std::string>{"a=b"}) << "only the first '=' splits";
    EXPECT_EQ(t->at("ISRC"), std::vector<std::string>{"USRC17607839"});
    EXPECT_EQ(t->size(), 5u);
}

TEST(UserTags, RejectsBadInput) {
    const std::vector<std::vector<std::string>> bad = {
        {"TITLE"},                      // no '='
        {"=value"},                     // no key
        {"1TITLE=x"},                   // key must start with a letter
        {"TI TLE=x"},                   // no spaces in keys
        {"TITLE="},                     // empty value
        {"TITLE=a\x01" "b"},            // control character
        {"TITLE=\xC3"},                 // truncated UTF-8
        {"TITLE=\xC0\xAF"},             // overlong UTF-8
        {"TRACKNUMBER=three"},          // not a number
        {"ISRC=XX"},                    // bad ISRC through --tag
        {"TITLE=" + std::string(kMaxTagValueBytes + 1, 'a')},
    };
    for (const auto& a : bad) {
        TagRequest req;
        req.assignments = a;
        auto t = userTags(req);
        ASSERT_FALSE(t.ok()) << a[0].substr(0, 40);
        EXPECT_EQ(t.error().code, ErrorCode::InvalidArgument);
    }
    TagRequest req;
    req.isrc = "not-an-isrc";
    EXPECT_EQ(userTags(req).error().code, ErrorCode::InvalidArgument);
    // Multi-line comments and non-ASCII text are fine.
    req = {};
    req.assignments = {"COMMENT=line one\nline two", "TITLE=Entenlied \xC3\xA4\xE2\x82\xAC\xF0\x9F\xA6\x86"};
    EXPECT_TRUE(userTags(req).ok());
}

struct FormatCase {
    OutputFormat format;
    const char* file;
    int rate;
};

class TagRoundTrip : public ::testing::TestWithParam<FormatCase> {};

TEST_P(TagRoundTrip, WrittenTagsReadBack) {
    const FormatCase& c = GetParam();
    TempDir dir;
    const std::string path = dir.file(c.file);
    writeTone(path, c.format, c.rate);
    const TagMap tags = {{"TITLE", {"Entenlied \xC3\xA4"}},
                         {"ARTIST", {"Quack"}},
                         {"ALBUM", {"Pond"}},
                         {"DATE", {"2026"}},
                         {"GENRE", {"Electronic"}},
                         {"TRACKNUMBER", {"3"}},
                         {"ISRC", {"USRC17607839"}},
                         {"LABEL", {"Duck Records"}}};
    auto w = writeTags(path, c.format, tags);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_TRUE(w->empty()) << "every key has a place in every format; first unsupported: " << w->front();
    const TagMap back = readAllTags(path);
    for (const auto& [key, values] : tags) {
        ASSERT_TRUE(back.count(key)) << key;
        EXPECT_EQ(back.at(key), values) << key;
    }
    // The audio is untouched: it still decodes to the same length.
    auto s = openAudioFile(path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(test::readAll(**s).frames(), c.rate / 2);
    // The input side: every one of these keys is descriptive, so all are carried.
    const InputTags in = readInputTags(path);
    for (const auto& [key, values] : tags)
        EXPECT_TRUE(in.carried.count(key)) << key;
    // Writing the empty set removes them again.
    ASSERT_TRUE(writeTags(path, c.format, {}).ok());
    EXPECT_TRUE(readAllTags(path).empty());
}

TEST_P(TagRoundTrip, SameTagsGiveSameBytes) {
    const FormatCase& c = GetParam();
    TempDir dir;
    const TagMap tags = {{"TITLE", {"A"}}, {"ISRC", {"USRC17607839"}}};
    for (const char* prefix : {"a", "b"}) {
        const std::string path = dir.file(std::string(prefix) + c.file);
        writeTone(path, c.format, c.rate);
        ASSERT_TRUE(writeTags(path, c.format, tags).ok());
    }
    EXPECT_EQ(test::readBytes(dir.file(std::string("a") + c.file)),
              test::readBytes(dir.file(std::string("b") + c.file)));
}

INSTANTIATE_TEST_SUITE_P(Formats, TagRoundTrip,
                         ::testing::Values(FormatCase{OutputFormat::Wav24, "t.wav", 44100},
                                           FormatCase{OutputFormat::Flac16, "t.flac", 44100},
                                           FormatCase{OutputFormat::Mp3, "t.mp3", 44100},
                                           FormatCase{OutputFormat::Vorbis, "t.ogg", 44100},
                                           FormatCase{OutputFormat::Opus, "t.opus", 48000},
                                           FormatCase{OutputFormat::Aac, "t.m4a", 44100}),
                         [](const auto& p) { return std::string(outputFormatInfo(p.param.format).name); });

TEST(InputTags, EncodingTagsAreDropped) {
    TempDir dir;
    const std::string path = dir.file("in.flac");
    writeTone(path, OutputFormat::Flac24, 44100);
    ASSERT_TRUE(writeTags(path, OutputFormat::Flac24,
                          {{"TITLE", {"Song"}},
                           {"ENCODER", {"SomeDAW 1.0"}},
                           {"REPLAYGAIN_TRACK_GAIN", {"-6.2 dB"}},
                           {"ISRC", {"US-RC1-76-07839", "garbage"}},
                           {"CUSTOMTHING", {"x"}}})
                    .ok());
    const InputTags in = readInputTags(path);
    EXPECT_EQ(in.carried.size(), 2u);
    EXPECT_EQ(in.carried.at("TITLE"), std::vector<std::string>{"Song"});
    EXPECT_EQ(in.carried.at("ISRC"), std::vector<std::string>{"USRC17607839"}) << "normalised, bad one dropped";
    for (const char* k : {"ENCODER", "REPLAYGAIN_TRACK_GAIN", "CUSTOMTHING"})
        EXPECT_NE(std::find(in.dropped.begin(), in.dropped.end(), k), in.dropped.end()) << k;
}

TEST(InputTags, UntaggedAndUnreadableFilesHaveNone) {
    TempDir dir;
    writeTone(dir.file("plain.wav"), OutputFormat::Wav16, 44100);
    EXPECT_TRUE(readInputTags(dir.file("plain.wav")).carried.empty());
    test::writeBytes(dir.file("junk.mp3"), std::vector<unsigned char>(1000, 0x42));
    EXPECT_TRUE(readInputTags(dir.file("junk.mp3")).carried.empty());
    EXPECT_TRUE(readInputTags(dir.file("missing.flac")).carried.empty());
}

TEST(CombineTags, UserKeysReplaceInputKeys) {
    const TagMap in = {{"TITLE", {"Old"}}, {"ARTIST", {"A", "B"}}};
    const TagMap user = {{"TITLE", {"New"}}, {"ISRC", {"USRC17607839"}}};
    const TagMap out = combineTags(in, user);
    EXPECT_EQ(out.at("TITLE"), std::vector<std::string>{"New"});
    EXPECT_EQ(out.at("ARTIST"), (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(out.at("ISRC"), std::vector<std::string>{"USRC17607839"});
}

} // namespace
} // namespace quack
