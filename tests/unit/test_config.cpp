// Unit tests of configuration: key table, file loading, drop-ins, legacy env/flags, dump.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "build_config.hpp"
#include "config/command_line.hpp"
#include "config/config_dump.hpp"
#include "config/config_loader.hpp"
#include "config/config_table.hpp"
#include "config/duration.hpp"
#include "unit.hpp"

using namespace mercure;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A temporary directory removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir()
    {
        std::string tmpl = (fs::temp_directory_path() / "mercure-config-XXXXXX").string();
        char* made = ::mkdtemp(tmpl.data());
        assert_non_null(made);
        path = made;
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    // Writes a file (mode 0600, so that secrets cause no warning) and returns its path.
    std::string write(const std::string& name, const std::string& text) const
    {
        const fs::path file = path / name;
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text;
        fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
        return file.string();
    }
};

using Outcome = std::variant<Invocation, InvocationError>;

// Runs parse_invocation with these arguments (after argv[0]) and environment.
Outcome invoke(const std::vector<std::string>& args, const std::vector<std::string>& env = {})
{
    std::vector<std::string> storage = {"mercure"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : storage)
        argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage = env;
    std::vector<char*> envp;
    for (std::string& s : env_storage)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    return parse_invocation(static_cast<int>(storage.size()), argv.data(), envp.data());
}

// The Invocation of a successful outcome; fails the test with the message otherwise.
// Returned by value: callers bind the result of a temporary outcome.
Invocation success(Outcome outcome)
{
    if (const auto* error = std::get_if<InvocationError>(&outcome)) {
        print_error("unexpected error (exit %d): %s\n", error->exit_code, error->message.c_str());
        fail();
    }
    return std::get<Invocation>(std::move(outcome));
}

// The InvocationError of a failed outcome; fails the test otherwise.
InvocationError failure(Outcome outcome)
{
    if (!std::holds_alternative<InvocationError>(outcome)) {
        print_error("expected an error, got success\n");
        fail();
    }
    return std::get<InvocationError>(std::move(outcome));
}

void assert_starts_with(const std::string& text, const std::string& prefix)
{
    if (text.compare(0, prefix.size(), prefix) != 0) {
        print_error("\"%s\" does not start with \"%s\"\n", text.c_str(), prefix.c_str());
        fail();
    }
}

void assert_contains(const std::string& text, const std::string& part)
{
    if (text.find(part) == std::string::npos) {
        print_error("\"%s\" does not contain \"%s\"\n", text.c_str(), part.c_str());
        fail();
    }
}

// Compares every field: the unmasked dump is a complete, injective serialization.
void assert_same_config(const Config& a, const Config& b)
{
    assert_string_equal(dump_config_text(a, false).c_str(), dump_config_text(b, false).c_str());
    assert_string_equal(a.publisher.key.c_str(), b.publisher.key.c_str());
    assert_string_equal(a.publisher.algorithm.c_str(), b.publisher.algorithm.c_str());
    assert_string_equal(a.subscriber.key.c_str(), b.subscriber.key.c_str());
    assert_string_equal(a.subscriber.algorithm.c_str(), b.subscriber.algorithm.c_str());
}

// The source tree root: $MERCURE_SOURCE_ROOT, else found from this file's path.
fs::path source_root()
{
    if (const char* root = std::getenv("MERCURE_SOURCE_ROOT"); root && *root)
        return root;
    const fs::path here = fs::path(__FILE__).parent_path() / ".." / "..";
    if (fs::exists(here / "etc" / "mercure" / "mercure.conf"))
        return here;
    // __FILE__ is relative to the build directory, an ancestor of this executable's
    // directory or of the working directory.
    std::error_code ec;
    for (const fs::path& start : {fs::read_symlink("/proc/self/exe", ec).parent_path(), fs::current_path()})
        for (fs::path dir = start; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
            if (fs::exists(dir / here / "etc" / "mercure" / "mercure.conf"))
                return dir / here;
    return here;
}

std::string read_text(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Config with the key fallbacks, for comparisons.
Config with_keys(Config c, const std::string& key)
{
    c.publisher.key = key;
    c.subscriber.key = key;
    return c;
}

// ---- table and values -------------------------------------------------------------------

void test_defaults_match_config_struct(void**)
{
    // The table's defaults and Config's member initializers must agree.
    assert_same_config(resolve_draft(default_draft()), Config{});
}

void test_table_names(void**)
{
    const std::vector<std::string> expected = {
        "addr", "jwt_key", "jwt_algorithm", "publisher_jwt_key", "publisher_jwt_algorithm",
        "subscriber_jwt_key", "subscriber_jwt_algorithm", "allow_anonymous",
        "cors_allowed_origins", "publish_allowed_origins", "use_forwarded_headers", "debug",
        "demo", "subscriptions", "cookie_name", "heartbeat_interval", "dispatch_timeout",
        "write_timeout", "read_timeout", "history_size", "history_max_age",
        "history_store", "history_path", "history_sync", "history_max_bytes", "transport_url", "transport_password", "max_body_size", "max_header_size", "max_topics",
        "max_topic_length", "max_queued_bytes", "send_buffer", "max_connections", "workers", "metrics", "metrics_addr", "metrics_login",
        "metrics_password", "log_level"};
    const auto names = config_key_names();
    assert_int_equal(names.size(), expected.size());
    for (std::size_t i = 0; i < names.size(); ++i)
        assert_string_equal(std::string(names[i]).c_str(), expected[i].c_str());
    // Legacy names are derived mechanically from the key name.
    for (const KeySpec& key : config_table()) {
        std::string env(key.name), flag = "--" + std::string(key.name);
        for (char& c : env)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (char& c : flag)
            c = c == '_' ? '-' : c;
        assert_string_equal(std::string(key.env).c_str(), env.c_str());
        assert_string_equal(std::string(key.flag).c_str(), flag.c_str());
        assert_false(key.help.empty());
    }
}

void test_every_config_field_has_a_key(void**)
{
    // C++ cannot list Config's fields, so its size stands in for them: a field added to
    // Config without a key in config_table (and so without a way to set it) fails here.
    // After adding the key, update this size.
#if defined(__x86_64__) && defined(__GLIBCXX__)
    constexpr std::size_t expected_size = 672;
    if (sizeof(Config) != expected_size) {
        print_error("sizeof(Config) is %zu, not %zu: did a field get added without a key in "
                    "src/config/config_table.cpp?\n", sizeof(Config), expected_size);
        fail();
    }
#else
    skip();
#endif
}

void test_durations(void**)
{
    assert_true(parse_duration("40s") == 40s);
    assert_true(parse_duration("5m") == 5min);
    assert_true(parse_duration("1h") == 1h);
    assert_true(parse_duration("500ms") == 500ms);
    assert_true(parse_duration("1m30s") == 90s);
    assert_true(parse_duration("1h2m3s4ms") == 1h + 2min + 3s + 4ms);
    assert_true(parse_duration("40") == 40s);
    assert_true(parse_duration("0") == 0s);
    assert_true(parse_duration("0s") == 0s);
    for (const char* bad : {"", "s", "40x", "-5s", "1.5s", "40 s", "4 0", "10us", "1s2",
                            "99999999999999999999s", "9999999999999h"})
        assert_false(parse_duration(bad).has_value());
    assert_string_equal(format_duration(90s).c_str(), "1m30s");
    assert_string_equal(format_duration(0s).c_str(), "0s");
    assert_string_equal(format_duration(1500ms).c_str(), "1s500ms");
    assert_string_equal(format_duration(2h).c_str(), "2h");
}

void test_sizes(void**)
{
    assert_true(parse_size("1024") == 1024u);
    assert_true(parse_size("64K") == 64u * 1024);
    assert_true(parse_size("64k") == 64u * 1024);
    assert_true(parse_size("1M") == 1u << 20);
    assert_true(parse_size("2MiB") == 2u << 20);
    assert_true(parse_size("1GB") == 1u << 30);
    assert_true(parse_size("10B") == 10u);
    for (const char* bad : {"", "K", "1T", "1KX", "-1", "1 K", "99999999999999999999"})
        assert_false(parse_size(bad).has_value());
    assert_string_equal(format_size(16 << 10).c_str(), "16K");
    assert_string_equal(format_size(1000).c_str(), "1000");
    assert_string_equal(format_size(3u << 30).c_str(), "3G");
}

void test_addr_validation(void**)
{
    const KeySpec& addr = config_table()[*find_key_by_name("addr")];
    for (const char* good : {":3000", "localhost:3000", "127.0.0.1:80", "[::1]:3000",
                             "[::]:65535", "example.com:1"})
        assert_false(check_value(addr, std::string(good)).has_value());
    for (const char* bad : {"", "3000", "localhost", ":0", ":65536", ":http", "::1:3000",
                            "[::1]", "[::1]3000", "[nope]:80", "a b:80", ":30a"})
        assert_true(check_value(addr, std::string(bad)).has_value());
}

// ---- files ------------------------------------------------------------------------------

void test_absent_default_file_is_fine(void**)
{
    const std::string path = MERCURE_SYSCONFDIR "/mercure/mercure.conf";
    if (fs::exists(path))
        skip();  // an installed hub's file would change the outcome
    const Invocation& inv = success(invoke({"--jwt-key=k"}));
    assert_string_equal(inv.config_path.c_str(), path.c_str());
    assert_same_config(inv.config, with_keys(Config{}, "k"));
}

void test_file_every_type(void**)
{
    const std::string path = (source_root() / "tests/data/config/every-type.conf").string();
    const Invocation& inv = success(invoke({"--config", path}));
    const Config& c = inv.config;
    assert_string_equal(inv.config_path.c_str(), path.c_str());
    assert_int_equal(static_cast<int>(inv.action), static_cast<int>(Action::Run));
    assert_string_equal(c.addr.c_str(), "127.0.0.1:8080");
    assert_string_equal(c.publisher.key.c_str(), "shared-secret");
    assert_string_equal(c.publisher.algorithm.c_str(), "HS512");
    assert_string_equal(c.subscriber.key.c_str(), "subscriber-secret");
    assert_string_equal(c.subscriber.algorithm.c_str(), "HS384");
    assert_true(c.allow_anonymous);
    assert_int_equal(c.cors_allowed_origins.size(), 2);
    assert_string_equal(c.cors_allowed_origins[0].c_str(), "https://a.example");
    assert_string_equal(c.cors_allowed_origins[1].c_str(), "https://b.example");
    assert_int_equal(c.publish_allowed_origins.size(), 1);
    assert_string_equal(c.publish_allowed_origins[0].c_str(), "https://publisher.example");
    assert_true(c.use_forwarded_headers);
    assert_false(c.debug);
    assert_true(c.demo);
    assert_true(c.subscriptions);
    assert_string_equal(c.cookie_name.c_str(), "hubAuth");
    assert_true(c.heartbeat_interval == 90s);
    assert_true(c.dispatch_timeout == 2s);
    assert_true(c.write_timeout == 500ms);
    assert_true(c.read_timeout == 1h);
    assert_int_equal(c.max_body_size, 64 * 1024);
    assert_int_equal(c.max_header_size, 8192);
    assert_int_equal(c.max_topics, 10);
    assert_int_equal(c.max_queued_bytes, 2 << 20);
    assert_int_equal(c.max_connections, 5000000);
    assert_string_equal(c.log_level.c_str(), "debug");
}

void test_file_list_syntax(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf",
                                       "jwt_key = \"k\";\n"
                                       "cors_allowed_origins = ( \"https://x.example\" );\n"
                                       "publish_allowed_origins = [];\n");
    const Config& c = success(invoke({"-c", path})).config;
    assert_int_equal(c.cors_allowed_origins.size(), 1);
    assert_int_equal(c.publish_allowed_origins.size(), 0);
}

void test_key_fallbacks(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf",
                                       "jwt_key = \"both\";\n"
                                       "jwt_algorithm = \"HS384\";\n"
                                       "publisher_jwt_key = \"pub\";\n"
                                       "subscriber_jwt_algorithm = \"HS512\";\n");
    const Config& c = success(invoke({"-c", path})).config;
    assert_string_equal(c.publisher.key.c_str(), "pub");
    assert_string_equal(c.publisher.algorithm.c_str(), "HS384");
    assert_string_equal(c.subscriber.key.c_str(), "both");
    assert_string_equal(c.subscriber.algorithm.c_str(), "HS512");
}

void test_dropin_order(void**)
{
    TempDir dir;
    const std::string main = dir.write("mercure.conf", "jwt_key = \"k\";\nheartbeat_interval = \"10s\";\n");
    dir.write("conf.d/20-b.conf", "heartbeat_interval = \"30s\";\n");
    dir.write("conf.d/10-a.conf", "heartbeat_interval = \"20s\";\ndebug = true;\n");
    dir.write("conf.d/.30-hidden.conf", "heartbeat_interval = \"99s\";\n");
    dir.write("conf.d/40-not-conf.txt", "this is not libconfig");
    fs::create_directory(dir.path / "conf.d" / "50-dir.conf");
    const auto dropins = config_dropins(main);
    assert_int_equal(dropins.size(), 2);
    assert_string_equal(fs::path(dropins[0]).filename().c_str(), "10-a.conf");
    const Config& c = success(invoke({"-c", main})).config;
    assert_true(c.heartbeat_interval == 30s);
    assert_true(c.debug);
}

void test_dropins_without_main_file(void**)
{
    // Drop-ins apply even when the (non-explicit) main file is absent: use the loader.
    TempDir dir;
    dir.write("conf.d/10-key.conf", "jwt_key = \"from-dropin\";\n");
    ConfigDraft draft = default_draft();
    std::vector<std::string> warnings;
    assert_true(apply_config_files((dir.path / "mercure.conf").string(), false, draft, warnings).ok());
    assert_string_equal(resolve_draft(draft).publisher.key.c_str(), "from-dropin");
    assert_false(apply_config_files((dir.path / "mercure.conf").string(), true, draft, warnings).ok());
}

void test_load_config(void**)
{
    TempDir dir;
    const auto r = load_config(dir.write("m.conf", "jwt_key = \"k\";\n"));
    assert_true(r.ok());
    assert_string_equal(r->publisher.key.c_str(), "k");
    assert_false(load_config(dir.write("n.conf", "debug = true;\n")).ok());
}

// ---- errors -----------------------------------------------------------------------------

void test_missing_key(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "");
    const InvocationError& e = failure(invoke({"-c", path}));
    assert_string_equal(e.message.c_str(),
                        "invalid config: one of \"jwt_key\" or \"publisher_jwt_key\" "
                        "configuration parameter must be defined");
    assert_int_equal(e.exit_code, 1);
    assert_int_equal(failure(invoke({"-c", path, "--check-config"})).exit_code, 1);
    // A subscriber key alone is not enough.
    assert_int_equal(failure(invoke({"-c", path, "--subscriber-jwt-key=s"})).exit_code, 1);
    // The publisher key alone is.
    success(invoke({"-c", path, "--publisher-jwt-key=p"}));
}

void test_help_version_dump_need_no_key(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "");
    assert_int_equal(static_cast<int>(success(invoke({"--help"})).action), static_cast<int>(Action::Help));
    assert_int_equal(static_cast<int>(success(invoke({"-h", "--bogus"})).action), static_cast<int>(Action::Help));
    assert_int_equal(static_cast<int>(success(invoke({"--version"})).action), static_cast<int>(Action::Version));
    assert_int_equal(static_cast<int>(success(invoke({"-V"})).action), static_cast<int>(Action::Version));
    assert_int_equal(static_cast<int>(success(invoke({"-c", path, "--dump-config"})).action),
                     static_cast<int>(Action::DumpConfig));
    assert_int_equal(static_cast<int>(success(invoke({"-c", path, "--check-config", "--jwt-key=k"})).action),
                     static_cast<int>(Action::CheckConfig));
    assert_int_equal(failure(invoke({"--check-config", "--dump-config"})).exit_code, 2);
}

void test_syntax_error_has_file_and_line(void**)
{
    const std::string path = (source_root() / "tests/data/config/syntax-error.conf").string();
    const InvocationError& e = failure(invoke({"--config=" + path}));
    assert_starts_with(e.message, path + ":3: ");
    assert_int_equal(e.exit_code, 1);
}

void test_unknown_key_has_line(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "jwt_key = \"k\";\n\nfoo = 1;\n");
    const InvocationError& e = failure(invoke({"-c", path}));
    assert_string_equal(e.message.c_str(), (path + ":3: unknown setting \"foo\"").c_str());
    assert_int_equal(e.exit_code, 1);
    // A group is not a setting either, and drop-ins are checked the same way.
    const std::string main = dir.write("d/mercure.conf", "jwt_key = \"k\";\n");
    const std::string dropin = dir.write("d/conf.d/10-x.conf", "\nhub = { addr = \":1\"; };\n");
    assert_string_equal(failure(invoke({"-c", main})).message.c_str(),
                        (dropin + ":2: unknown setting \"hub\"").c_str());
}

void test_bad_values_in_file(void**)
{
    TempDir dir;
    const auto error_of = [&](const std::string& line) {
        const std::string path = dir.write("m.conf", "jwt_key = \"k\";\n" + line + "\n");
        return failure(invoke({"-c", path})).message.substr(path.size());
    };
    assert_string_equal(error_of("heartbeat_interval = \"forty\";").c_str(),
                        ":2: \"heartbeat_interval\" must be a duration like \"40s\"");
    assert_string_equal(error_of("heartbeat_interval = 1.5;").c_str(),
                        ":2: \"heartbeat_interval\" must be a duration like \"40s\"");
    assert_string_equal(error_of("heartbeat_interval = -1;").c_str(),
                        ":2: \"heartbeat_interval\" must be a duration like \"40s\"");
    assert_string_equal(error_of("heartbeat_interval = \"48h\";").c_str(),
                        ":2: \"heartbeat_interval\" must be between 0s and 24h");
    assert_string_equal(error_of("max_topics = 0;").c_str(),
                        ":2: \"max_topics\" must be between 1 and 100000");
    assert_string_equal(error_of("max_topics = \"10\";").c_str(),
                        ":2: \"max_topics\" must be a non-negative integer");
    assert_string_equal(error_of("max_body_size = \"2T\";").c_str(),
                        ":2: \"max_body_size\" must be a size like \"1M\" or a number of bytes");
    assert_string_equal(error_of("allow_anonymous = \"yes\";").c_str(),
                        ":2: \"allow_anonymous\" must be a boolean (true or false)");
    assert_string_equal(error_of("addr = 3000;").c_str(), ":2: \"addr\" must be a string");
    assert_string_equal(error_of("cors_allowed_origins = [1, 2];").c_str(),
                        ":2: \"cors_allowed_origins\" must be a list of strings like [\"https://example.com\"]");
    assert_string_equal(error_of("jwt_algorithm = \"none\";").c_str(),
                        ":2: \"jwt_algorithm\" must be one of HS256, HS384, HS512, RS256, RS384, "
                        "RS512, ES256, ES384 or ES512");
    assert_string_equal(error_of("log_level = \"loud\";").c_str(),
                        ":2: \"log_level\" must be one of debug, info, notice, warning or error");
    assert_starts_with(error_of("addr = \"localhost\";"), ":2: \"addr\" must be [host]:port");
    assert_starts_with(error_of("cookie_name = \"a b\";"), ":2: \"cookie_name\" must be a cookie name");
}

void test_explicit_missing_config(void**)
{
    TempDir dir;
    const std::string path = (dir.path / "absent.conf").string();
    const InvocationError& e = failure(invoke({"--config", path, "--jwt-key=k"}));
    assert_starts_with(e.message, path + ": cannot read: ");
    assert_int_equal(e.exit_code, 1);
    const InvocationError& e2 = failure(invoke({"--jwt-key=k"}, {"MERCURE_CONFIG=" + path}));
    assert_starts_with(e2.message, path + ": cannot read: ");
    assert_starts_with(failure(invoke({"-c", dir.path.string()})).message,
                       dir.path.string() + ": cannot read: is a directory");
}

void test_usage_errors(void**)
{
    const InvocationError& e = failure(invoke({"--jwt-key=k", "--frobnicate"}));
    assert_int_equal(e.exit_code, 2);
    assert_contains(e.message, "unknown option \"--frobnicate\"");
    assert_contains(e.message, "--help");
    assert_int_equal(failure(invoke({"-x"})).exit_code, 2);
    assert_int_equal(failure(invoke({"positional"})).exit_code, 2);
    assert_int_equal(failure(invoke({"--", "positional"})).exit_code, 2);
    const InvocationError& missing = failure(invoke({"--addr"}));
    assert_int_equal(missing.exit_code, 2);
    assert_contains(missing.message, "option --addr requires a value");
    assert_int_equal(failure(invoke({"--config"})).exit_code, 2);
    assert_int_equal(failure(invoke({"--check-config=yes"})).exit_code, 2);
    // A bad value is a configuration error (1), not a usage error.
    const InvocationError& bad = failure(invoke({"--jwt-key=k", "--heartbeat-interval=soon"}));
    assert_int_equal(bad.exit_code, 1);
    assert_string_equal(bad.message.c_str(),
                        "option --heartbeat-interval must be a duration like \"40s\" (got \"soon\")");
    assert_int_equal(failure(invoke({"--jwt-key=k", "--allow-anonymous=maybe"})).exit_code, 1);
}

// ---- environment and flags --------------------------------------------------------------

void test_env_overrides_file(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf",
                                       "jwt_key = \"file\";\naddr = \":1\";\n"
                                       "heartbeat_interval = \"10s\";\ndebug = true;\n");
    const Config& c = success(invoke({"-c", path}, {"JWT_KEY=env", "HEARTBEAT_INTERVAL=1m",
                                                    "DEBUG=off", "ADDR=", "PATH=/usr/bin",
                                                    "UNRELATED=x"}))
                          .config;
    assert_string_equal(c.publisher.key.c_str(), "env");
    assert_true(c.heartbeat_interval == 1min);
    assert_false(c.debug);
    assert_string_equal(c.addr.c_str(), ":1");  // an empty variable counts as unset
}

void test_flags_override_env(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "jwt_key = \"file\";\n");
    const Invocation& inv = success(invoke(
        {"-c", path, "--jwt-key", "flag", "--heartbeat-interval=5s", "--debug=false",
         "--cors-allowed-origins=https://a.example,https://b.example",
         "--cors-allowed-origins", "https://c.example", "--publish-allowed-origins="},
        {"JWT_KEY=env", "HEARTBEAT_INTERVAL=1m", "DEBUG=1", "CORS_ALLOWED_ORIGINS=https://env.example",
         "PUBLISH_ALLOWED_ORIGINS=https://p.example"}));
    const Config& c = inv.config;
    assert_string_equal(c.publisher.key.c_str(), "flag");
    assert_true(c.heartbeat_interval == 5s);
    assert_false(c.debug);
    assert_int_equal(c.cors_allowed_origins.size(), 3);
    assert_string_equal(c.cors_allowed_origins[0].c_str(), "https://a.example");
    assert_string_equal(c.cors_allowed_origins[2].c_str(), "https://c.example");
    assert_int_equal(c.publish_allowed_origins.size(), 0);
    // The secret on the command line earns a warning.
    bool warned = false;
    for (const std::string& w : inv.warnings)
        warned = warned || w.find("--jwt-key") != std::string::npos;
    assert_true(warned);
}

void test_tutorial_flags(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "");
    const Config& c = success(invoke({"-c", path, "--jwt-key=!ChangeMe!", "--addr=localhost:3000",
                                      "--allow-anonymous", "--cors-allowed-origins=*"}))
                          .config;
    Config expected = with_keys(Config{}, "!ChangeMe!");
    expected.addr = "localhost:3000";
    expected.allow_anonymous = true;
    expected.cors_allowed_origins = {"*"};
    assert_same_config(c, expected);
}

void test_tutorial_env(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "");
    const Config& c = success(invoke({"-c", path}, {"JWT_KEY=!ChangeMe!", "ADDR=:3000",
                                                    "ALLOW_ANONYMOUS=1", "CORS_ALLOWED_ORIGINS=*"}))
                          .config;
    Config expected = with_keys(Config{}, "!ChangeMe!");
    expected.allow_anonymous = true;
    expected.cors_allowed_origins = {"*"};
    assert_same_config(c, expected);
}

void test_env_lists_and_bools(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "jwt_key = \"k\";\n");
    const Config& c = success(invoke({"-c", path}, {"CORS_ALLOWED_ORIGINS=https://a.example  https://b.example\t",
                                                    "USE_FORWARDED_HEADERS=Yes", "DEMO=ON",
                                                    "SUBSCRIPTIONS=TRUE", "ALLOW_ANONYMOUS=0",
                                                    "MAX_BODY_SIZE=64K", "MAX_TOPICS=7"}))
                          .config;
    assert_int_equal(c.cors_allowed_origins.size(), 2);
    assert_string_equal(c.cors_allowed_origins[1].c_str(), "https://b.example");
    assert_true(c.use_forwarded_headers);
    assert_true(c.demo);
    assert_true(c.subscriptions);
    assert_false(c.allow_anonymous);
    assert_int_equal(c.max_body_size, 64 * 1024);
    assert_int_equal(c.max_topics, 7);
}

void test_bad_bool_env(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "jwt_key = \"k\";\n");
    const InvocationError& e = failure(invoke({"-c", path}, {"ALLOW_ANONYMOUS=maybe"}));
    assert_int_equal(e.exit_code, 1);
    assert_string_equal(e.message.c_str(),
                        "environment variable ALLOW_ANONYMOUS must be a boolean: 1/0, true/false, "
                        "yes/no, on/off (got \"maybe\")");
    const InvocationError& d = failure(invoke({"-c", path}, {"DISPATCH_TIMEOUT=5 s"}));
    assert_string_equal(d.message.c_str(),
                        "environment variable DISPATCH_TIMEOUT must be a duration like \"40s\" (got \"5 s\")");
}

void test_unsupported_legacy_settings_warn(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "jwt_key = \"k\";\n");
    const Invocation& inv = success(invoke({"-c", path, "--compress",
                                            "--cert-file=/x.pem"},
                                           {"COMPRESS=1", "LOG_FORMAT=JSON"}));
    std::string all;
    for (const std::string& w : inv.warnings)
        all += w + "\n";
    assert_contains(all, "option --compress is not supported");
    assert_contains(all, "option --cert-file is not supported");
    assert_contains(all, "environment variable COMPRESS is not supported");
    assert_contains(all, "environment variable LOG_FORMAT is not supported");
}

void test_pem_key_flag_value_starting_with_dashes(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "");
    const std::string pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
    const Config& c = success(invoke({"-c", path, "--jwt-key", pem, "--jwt-algorithm", "ES256"})).config;
    assert_string_equal(c.publisher.key.c_str(), pem.c_str());
    assert_string_equal(c.subscriber.algorithm.c_str(), "ES256");
}

void test_world_readable_secret_warns(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "jwt_key = \"k\";\n");
    fs::permissions(path, fs::perms::others_read, fs::perm_options::add);
    const Invocation& inv = success(invoke({"-c", path}));
    bool warned = false;
    for (const std::string& w : inv.warnings)
        warned = warned || w.starts_with(path + ": readable by every user");
    assert_true(warned);
}

// ---- reload -----------------------------------------------------------------------------

void test_reload_rereads_files_and_keeps_overrides(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf", "jwt_key = \"k\";\nmax_topics = 5;\ndebug = true;\n");
    const Invocation inv = success(invoke({"-c", path, "--debug=false"}, {"MAX_BODY_SIZE=2M"}));
    dir.write("m.conf", "jwt_key = \"k2\";\nmax_topics = 6;\ndebug = true;\nmax_body_size = 1024;\n");
    auto reloaded = reload_config(inv);
    assert_true(std::holds_alternative<Config>(reloaded));
    const Config& c = std::get<Config>(reloaded);
    assert_string_equal(c.publisher.key.c_str(), "k2");
    assert_int_equal(c.max_topics, 6);
    assert_false(c.debug);                      // the flag still wins
    assert_int_equal(c.max_body_size, 2 << 20);  // and so does the environment
    dir.write("m.conf", "jwt_key = \"k\";\nmax_topics = ;\n");
    auto broken = reload_config(inv);
    assert_true(std::holds_alternative<InvocationError>(broken));
    assert_starts_with(std::get<InvocationError>(broken).message, path + ":2: ");
}

// ---- dump -------------------------------------------------------------------------------

// Parses a dump as a configuration file and returns the Config it gives.
Config reparse(const TempDir& dir, const std::string& text)
{
    const std::string path = dir.write("dump.conf", text);
    return success(invoke({"-c", path, "--dump-config"})).config;
}

void test_dump_masks_and_round_trips(void**)
{
    TempDir dir;
    const std::string path = dir.write("m.conf",
                                       "jwt_key = \"top \\\"secret\\\"\";\n"
                                       "cors_allowed_origins = [\"https://a.example\", \"*\"];\n"
                                       "heartbeat_interval = \"1m30s\";\nmax_body_size = 100000;\n"
                                       "max_connections = 77;\ndemo = true;\n");
    const Config original = success(invoke({"-c", path})).config;
    const std::string dump = dump_config(original);
    assert_contains(dump, "jwt_key = \"********\";");
    assert_contains(dump, "publisher_jwt_key = \"\";");
    assert_true(dump.find("top ") == std::string::npos);
    for (const std::string_view name : config_key_names())
        assert_contains(dump, "\n" + std::string(name) + " = ");
    // The masked dump parses back to the same Config with the keys masked.
    assert_same_config(reparse(dir, dump), with_keys(original, "********"));
    // Unmasked, the dump is exact, including escapes.
    assert_same_config(reparse(dir, dump_config_text(original, false)), original);

    // Distinct publisher and subscriber keys are written per role.
    Config split = original;
    split.publisher = {"pub\n\x01key", "HS512"};
    split.subscriber = {"", "HS256"};
    const std::string split_dump = dump_config_text(split, true);
    assert_contains(split_dump, "publisher_jwt_key = \"********\";");
    assert_contains(split_dump, "subscriber_jwt_key = \"\";");
    assert_same_config(reparse(dir, dump_config_text(split, false)), split);
}

// ---- the shipped file and the help ------------------------------------------------------

void test_shipped_conf_lists_every_key(void**)
{
    const fs::path path = source_root() / "etc/mercure/mercure.conf";
    const std::string text = read_text(path);
    assert_false(text.empty());
    for (const KeySpec& key : config_table())
        assert_contains(text, commented_default(key));
    // Parsed as shipped, it gives the defaults.
    assert_same_config(success(invoke({"-c", path.string(), "--dump-config"})).config, Config{});
    // Uncommented, every line is a valid setting at its default, and nothing else is there.
    std::istringstream lines(text);
    std::string line, uncommented;
    std::size_t settings = 0;
    while (std::getline(lines, line)) {
        const std::size_t eq = line.find(" = ");
        if (line.starts_with("#") && !line.starts_with("# ") && eq != std::string::npos) {
            assert_true(find_key_by_name(line.substr(1, eq - 1)).has_value());
            uncommented += line.substr(1) + "\n";
            ++settings;
        }
    }
    assert_int_equal(settings, config_table().size());
    TempDir dir;
    const std::string open = dir.write("open.conf", uncommented);
    assert_same_config(success(invoke({"-c", open, "--dump-config"})).config, Config{});
}

void test_help_lists_every_flag(void**)
{
    const std::string help = help_text();
    for (const KeySpec& key : config_table()) {
        assert_contains(help, std::string(key.flag));
        assert_contains(help, std::string(key.env));
    }
    for (const char* option : {"--config", "--check-config", "--dump-config", "--help", "--version"})
        assert_contains(help, option);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_config_struct),
        cmocka_unit_test(test_table_names),
        cmocka_unit_test(test_every_config_field_has_a_key),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_addr_validation),
        cmocka_unit_test(test_absent_default_file_is_fine),
        cmocka_unit_test(test_file_every_type),
        cmocka_unit_test(test_file_list_syntax),
        cmocka_unit_test(test_key_fallbacks),
        cmocka_unit_test(test_dropin_order),
        cmocka_unit_test(test_dropins_without_main_file),
        cmocka_unit_test(test_load_config),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_help_version_dump_need_no_key),
        cmocka_unit_test(test_syntax_error_has_file_and_line),
        cmocka_unit_test(test_unknown_key_has_line),
        cmocka_unit_test(test_bad_values_in_file),
        cmocka_unit_test(test_explicit_missing_config),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_env_overrides_file),
        cmocka_unit_test(test_flags_override_env),
        cmocka_unit_test(test_tutorial_flags),
        cmocka_unit_test(test_tutorial_env),
        cmocka_unit_test(test_env_lists_and_bools),
        cmocka_unit_test(test_bad_bool_env),
        cmocka_unit_test(test_unsupported_legacy_settings_warn),
        cmocka_unit_test(test_pem_key_flag_value_starting_with_dashes),
        cmocka_unit_test(test_world_readable_secret_warns),
        cmocka_unit_test(test_reload_rereads_files_and_keeps_overrides),
        cmocka_unit_test(test_dump_masks_and_round_trips),
        cmocka_unit_test(test_shipped_conf_lists_every_key),
        cmocka_unit_test(test_help_lists_every_flag),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
