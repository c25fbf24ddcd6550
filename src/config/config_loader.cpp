// Loading libconfig files (main file and drop-ins) into a ConfigDraft; final validation.
#include "config/config_loader.hpp"

#include <libconfig.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

namespace mercure {

namespace {

// RAII over a libconfig handle.
struct ConfigDeleter {
    void operator()(config_t* c) const
    {
        config_destroy(c);
        delete c;
    }
};
using ConfigHandle = std::unique_ptr<config_t, ConfigDeleter>;

ConfigHandle make_config_handle()
{
    ConfigHandle handle(new config_t);
    config_init(handle.get());
    return handle;
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// The file named in a message: libconfig names an @include file as written, relative to
// the include directory (the including file's directory).
std::string source_name(const std::string& path, const char* file)
{
    if (!file || file == path)
        return path;
    const std::filesystem::path included(file);
    if (included.is_absolute())
        return included.string();
    return (std::filesystem::path(path).parent_path() / included).string();
}

// "PATH:LINE: " for a setting (its own file when it comes from an @include).
std::string location(const std::string& path, const config_setting_t* setting)
{
    return source_name(path, config_setting_source_file(setting)) + ":" +
           std::to_string(config_setting_source_line(setting)) + ": ";
}

bool is_integer(const config_setting_t* s)
{
    const int type = config_setting_type(s);
    return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
}

// Reads one setting as the key's type; nullopt when the type does not fit.
std::optional<ConfigValue> read_setting(const KeySpec& key, const config_setting_t* s)
{
    const int type = config_setting_type(s);
    switch (key.type) {
    case KeyType::String:
        if (type == CONFIG_TYPE_STRING)
            return make_config_value<std::string>(config_setting_get_string(s));
        return std::nullopt;
    case KeyType::Bool:
        if (type == CONFIG_TYPE_BOOL)
            return make_config_value<bool>(config_setting_get_bool(s) != 0);
        return std::nullopt;
    case KeyType::Duration:
    case KeyType::Size:
    case KeyType::Integer:
        if (is_integer(s)) {
            const long long n = config_setting_get_int64(s);
            if (n < 0)
                return std::nullopt;
            if (key.type == KeyType::Duration) {
                // Plain integers are seconds; the text form applies the same overflow guard.
                return parse_value_text(key, std::to_string(n), ListSyntax::Commas);
            }
            return make_config_value<std::uint64_t>(static_cast<std::uint64_t>(n));
        }
        if (type == CONFIG_TYPE_STRING && key.type != KeyType::Integer)
            return parse_value_text(key, config_setting_get_string(s), ListSyntax::Commas);
        return std::nullopt;
    case KeyType::StringList: {
        if (type == CONFIG_TYPE_STRING)
            return make_config_value<std::vector<std::string>>(1, config_setting_get_string(s));
        if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
            return std::nullopt;
        std::vector<std::string> items;
        const int n = config_setting_length(s);
        for (int i = 0; i < n; ++i) {
            const config_setting_t* item = config_setting_get_elem(s, static_cast<unsigned>(i));
            if (!item || config_setting_type(item) != CONFIG_TYPE_STRING)
                return std::nullopt;
            items.emplace_back(config_setting_get_string(item));
        }
        return make_config_value<std::vector<std::string>>(std::move(items));
    }
    }
    return std::nullopt;
}

bool sets_secret(const KeySpec& key, const ConfigValue& value)
{
    return key.secret && !std::get<std::string>(value).empty();
}

} // namespace

Status apply_config_file(const std::string& path, ConfigDraft& draft,
                         std::vector<std::string>& warnings)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return Error{path + ": cannot read: " + std::strerror(errno)};
    if (S_ISDIR(st.st_mode))
        return Error{path + ": cannot read: is a directory"};
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "r"));
    if (!file)
        return Error{path + ": cannot read: " + std::strerror(errno)};

    ConfigHandle cfg = make_config_handle();
    const std::string dir = std::filesystem::path(path).parent_path().string();
    config_set_include_dir(cfg.get(), dir.empty() ? "." : dir.c_str());
    if (config_read(cfg.get(), file.get()) != CONFIG_TRUE) {
        const char* text = config_error_text(cfg.get());
        return Error{source_name(path, config_error_file(cfg.get())) + ":" +
                     std::to_string(config_error_line(cfg.get())) + ": " +
                     (text ? text : "syntax error")};
    }

    const config_setting_t* root = config_root_setting(cfg.get());
    const int count = config_setting_length(root);
    // Apply to a copy so that a failing file leaves the draft untouched.
    ConfigDraft next = draft;
    std::vector<std::string_view> secrets;
    for (int i = 0; i < count; ++i) {
        const config_setting_t* s = config_setting_get_elem(root, static_cast<unsigned>(i));
        const char* name = config_setting_name(s);
        const auto index = find_key_by_name(name ? name : "");
        if (!index)
            return Error{location(path, s) + "unknown setting \"" + (name ? name : "") + "\""};
        const KeySpec& key = config_table()[*index];
        auto value = read_setting(key, s);
        if (!value)
            return Error{location(path, s) + "\"" + std::string(key.name) + "\" " +
                         type_requirement(key)};
        if (auto why = check_value(key, *value))
            return Error{location(path, s) + "\"" + std::string(key.name) + "\" " + *why};
        if (sets_secret(key, *value))
            secrets.push_back(key.name);
        key.set(next, std::move(*value));
    }
    draft = std::move(next);

    if (!secrets.empty() && (st.st_mode & S_IROTH))
        warnings.push_back(path + ": readable by every user but sets \"" +
                           std::string(secrets.front()) +
                           "\"; restrict it (chmod o-r) or move the key to a private drop-in");
    return Ok{};
}

std::vector<std::string> config_dropins(const std::string& main_path)
{
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    const fs::path dir = fs::path(main_path).parent_path() / "conf.d";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.' || it->path().extension() != ".conf")
            continue;
        std::error_code type_ec;
        if (!it->is_regular_file(type_ec))  // follows symlinks
            continue;
        files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

Status apply_config_files(const std::string& main_path, bool must_exist, ConfigDraft& draft,
                          std::vector<std::string>& warnings)
{
    struct stat st {};
    const bool present = ::stat(main_path.c_str(), &st) == 0 || errno != ENOENT;
    if (present || must_exist) {
        if (Status s = apply_config_file(main_path, draft, warnings); !s)
            return s;
    }
    for (const std::string& dropin : config_dropins(main_path)) {
        if (Status s = apply_config_file(dropin, draft, warnings); !s)
            return s;
    }
    return Ok{};
}

Status validate_config(const Config& config, bool require_key)
{
    if (require_key && config.publisher.key.empty())
        return Error{"invalid config: one of \"jwt_key\" or \"publisher_jwt_key\" "
                     "configuration parameter must be defined"};
    return Ok{};
}

std::vector<std::string> config_warnings(const Config& config)
{
    std::vector<std::string> warnings;
    if (config.subscriber.key.empty() && !config.allow_anonymous)
        warnings.push_back("neither \"subscriber_jwt_key\" nor \"jwt_key\" is set and "
                           "\"allow_anonymous\" is off: no subscriber can connect");
    return warnings;
}

Result<Config> load_config(const std::string& path)
{
    ConfigDraft draft = default_draft();
    std::vector<std::string> warnings;
    if (Status s = apply_config_files(path, true, draft, warnings); !s)
        return s.error();
    Config config = resolve_draft(draft);
    if (Status s = validate_config(config, true); !s)
        return s.error();
    return config;
}

} // namespace mercure
