// libFuzzer driver of the configuration loader: the input is written to a file in a private
// temporary directory and loaded with load_config(), the libconfig parser path the daemon's
// --config takes (main file, conf.d drop-ins, key table, validation).
//
// Invariants: an error names the file it comes from (or is the final validation's); a loaded
// Config dumped with dump_config_text() loads back to the same Config (compared through its
// dump), which is what --dump-config promises.
//
// "@include" reads another file: an input is skipped unless each of its includes names a plain
// file in the temporary directory, so the fuzzer cannot make the loader read /dev/zero or
// other files of the machine. The directory holds one file to include, "extra.conf".
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config_dump.hpp"
#include "config/config_loader.hpp"
#include "fuzz_check.hpp"

using namespace mercure;

namespace {

// The private directory, made once per process and removed at exit.
const std::string& work_dir()
{
    static const std::string dir = [] {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/mercure-fuzz-config.XXXXXX";
        FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
        return pattern;
    }();
    return dir;
}

// Removes the directory's files and itself.
void remove_work_dir()
{
    for (const char* name : {"/fuzz.conf", "/dump.conf", "/extra.conf"})
        std::remove((work_dir() + name).c_str());
    ::rmdir(work_dir().c_str());
}

// Writes `text` to `path`, replacing it.
void write_file(const std::string& path, std::string_view text)
{
    std::FILE* f = std::fopen(path.c_str(), "wb");
    FUZZ_CHECK(f != nullptr);
    FUZZ_CHECK(std::fwrite(text.data(), 1, text.size(), f) == text.size());
    FUZZ_CHECK(std::fclose(f) == 0);
}

// True when every "@include" of `text` names a plain file of the working directory.
bool includes_are_local(std::string_view text)
{
    static constexpr std::string_view directive = "@include";
    for (std::size_t at = text.find(directive); at != std::string_view::npos;
         at = text.find(directive, at + 1)) {
        std::size_t i = at + directive.size();
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
            ++i;
        if (i >= text.size() || text[i] != '"')
            return false;
        const std::size_t close = text.find('"', i + 1);
        if (close == std::string_view::npos || close == i + 1 || text[i + 1] == '.')
            return false;
        for (const char c : text.substr(i + 1, close - i - 1)) {
            const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                               c == '.' || c == '_' || c == '-';
            if (!plain)
                return false;
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    write_file(work_dir() + "/extra.conf", "debug = true;\nmax_topics = 7;\n");
    std::atexit(remove_work_dir);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (!includes_are_local(input))
        return 0;
    const std::string path = work_dir() + "/fuzz.conf";
    write_file(path, input);

    const Result<Config> loaded = load_config(path);
    if (!loaded) {
        const std::string& message = loaded.error().message;
        FUZZ_CHECK(message.starts_with(work_dir() + "/") || message.starts_with("invalid config:"));
        FUZZ_CHECK(message.find('\n') == std::string::npos);
        return 0;
    }
    static_cast<void>(config_warnings(*loaded));

    const std::string dump = dump_config_text(*loaded, false);
    const std::string dump_path = work_dir() + "/dump.conf";
    write_file(dump_path, dump);
    const Result<Config> reloaded = load_config(dump_path);
    if (!reloaded)
        std::fprintf(stderr, "the dump does not load: %s\n%s", reloaded.error().message.c_str(), dump.c_str());
    FUZZ_CHECK(reloaded.ok());
    FUZZ_CHECK(dump_config_text(*reloaded, false) == dump);
    static_cast<void>(dump_config_text(*loaded, true));
    return 0;
}
