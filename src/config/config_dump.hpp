// Writing configuration back as libconfig text: --dump-config and the commented defaults
// of the shipped etc/mercure/mercure.conf.
#pragma once
#include <string>

#include "config/config.hpp"
#include "config/config_table.hpp"

namespace mercure {

// A value in libconfig syntax: "\"40s\"", "true", "1000", "[ \"a\", \"b\" ]".
std::string format_config_value(const KeySpec& key, const ConfigValue& value);

// A string as a libconfig string literal, quoted and escaped.
std::string quote_config_string(std::string_view text);

// Every key in table order as `name = value;` lines. With mask_secrets, a non-empty
// secret is written "********" and an empty one "". The output parses back to `c` (to `c`
// with masked keys when masking).
std::string dump_config_text(const Config& c, bool mask_secrets);

// For every key, its help line as a comment followed by the key commented out at its
// default: "# interval between ...\n#heartbeat_interval = \"40s\";\n\n". The shipped
// etc/mercure/mercure.conf contains each of these blocks (a unit test checks it).
std::string commented_defaults();

// The block of commented_defaults() for one key.
std::string commented_default(const KeySpec& key);

} // namespace mercure
