// Loading libconfig files (the main file and its conf.d drop-ins) into a ConfigDraft, and
// the final validation of a merged Config.
//
// Error model: every expected failure (unreadable file, syntax error, unknown key, wrong
// type, out of range, missing key) comes back as an Error whose message names the file,
// the line and the key: `PATH:LINE: "heartbeat_interval" must be a duration like "40s"`.
#pragma once
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_table.hpp"
#include "util/result.hpp"

namespace mercure {

// Applies the keys of one libconfig file to draft, in file order. Appends warnings (a
// world-readable file holding a secret). A missing file is an error.
Status apply_config_file(const std::string& path, ConfigDraft& draft,
                         std::vector<std::string>& warnings);

// Applies the main file then every `conf.d/*.conf` next to it, in name order (dot files are
// skipped). A missing main file is fine unless must_exist; a missing conf.d is fine.
Status apply_config_files(const std::string& main_path, bool must_exist, ConfigDraft& draft,
                          std::vector<std::string>& warnings);

// The drop-in files that apply_config_files() would read for main_path, in order.
std::vector<std::string> config_dropins(const std::string& main_path);

// Checks what no single key can: a publisher key must be configured when require_key.
// Error: `invalid config: one of "jwt_key" or "publisher_jwt_key" configuration parameter
// must be defined`.
Status validate_config(const Config& config, bool require_key);

// Advice about a valid but suspicious Config (no way for subscribers to connect, ...).
std::vector<std::string> config_warnings(const Config& config);

// Defaults, then the file at path and its drop-ins (path must exist), then validation with
// a key required. For tools and tests; the daemon goes through parse_invocation().
Result<Config> load_config(const std::string& path);

} // namespace mercure
