// The tag reader (TagLib through engine/io/tags.h) on in-memory files of every container.
// TagLib picks its parser from the file name's extension, so the first byte chooses one.
#include "engine/io/tags.h"
#include "fuzz/fuzz_util.h"

#include <unistd.h>

#include <array>
#include <new>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    static constexpr std::array<const char*, 8> kExt = {"wav", "aiff", "flac", "ogg", "opus", "mp3", "m4a", "aac"};
    const char* ext = kExt[data[0] % kExt.size()];
    quack::fuzz::MemFile mem(data + 1, size - 1);
    if (!mem.ok())
        return 0;
    // A symlink with the extension to the memfd: TagLib sees "x.<ext>", reads memory.
    char dir[] = "/tmp/quack-fuzz-tags-XXXXXX";
    if (::mkdtemp(dir) == nullptr)
        return 0;
    const std::string link = std::string(dir) + "/x." + ext;
    if (::symlink(mem.path().c_str(), link.c_str()) == 0) {
        quack::fuzz::AllocFailureScope failures;
        try {
            (void)quack::readAllTags(link);
            (void)quack::readInputTags(link);
        } catch (const std::bad_alloc&) {
        }
        ::unlink(link.c_str());
    }
    ::rmdir(dir);
    return 0;
}
