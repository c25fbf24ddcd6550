// Documentation kept in step with the code: the key table against mercure.conf(5) and the
// shipped mercure.conf, the journal MESSAGE_IDs and fields against mercure(8) and
// docs/systemd.md.
#include "unit.hpp"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "config/config_dump.hpp"
#include "config/config_table.hpp"
#include "config/duration.hpp"
#include "log.hpp"

namespace {

using namespace mercure;
namespace fs = std::filesystem;

// The source tree: $MERCURE_SOURCE_ROOT, else three levels up from this file (which meson
// may name relative to the build directory, hence the search from there).
fs::path source_root()
{
    if (const char* root = std::getenv("MERCURE_SOURCE_ROOT"); root && *root)
        return root;
    const fs::path here = fs::path(__FILE__).parent_path().parent_path().parent_path();
    const fs::path marker = fs::path("man") / "mercure.8";
    if (fs::exists(here / marker))
        return here;
    std::error_code ec;
    for (const fs::path& start : {fs::read_symlink("/proc/self/exe", ec).parent_path(), fs::current_path()})
        for (fs::path dir = start; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
            if (fs::exists(dir / here / marker))
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

// Fails naming what is missing where, so the message says what to write.
void expect_contains(const std::string& text, const std::string& needle, const std::string& where)
{
    if (text.find(needle) == std::string::npos)
        fail_msg("%s lacks \"%s\"", where.c_str(), needle.c_str());
}

// Plain text of roff escapes: \- \(dq \e \(aq \fB \& ... ("\-\-addr" -> "--addr").
std::string unescape_roff(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        const char c = text[++i];
        if (c == '-' || c == '\\' || c == '.' || c == ' ')
            out += c == '\\' ? '\\' : c;
        else if (c == 'e')
            out += '\\';
        else if (c == '&' || c == '%')
            continue;
        else if (c == 'f' && i + 1 < text.size())
            ++i;  // font change: \fB, \fI, \fR, \fP
        else if (c == '(' && i + 2 < text.size()) {
            const std::string_view name = text.substr(i + 1, 2);
            i += 2;
            out += name == "dq" ? "\"" : name == "aq" ? "'" : name == "ha" ? "^" : name == "ti" ? "~"
                 : name == "ga" ? "`" : "?";
        } else
            out += '?';
    }
    return out;
}

// The arguments of a macro line, split like roff does ("a b" is one argument).
std::vector<std::string> roff_arguments(std::string_view line)
{
    std::vector<std::string> args;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ')
            ++i;
        if (i == line.size())
            break;
        std::string arg;
        if (line[i] == '"') {
            for (++i; i < line.size(); ++i) {
                if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"')
                    arg += line[++i];
                else if (line[i] == '"')
                    break;
                else
                    arg += line[i];
            }
            ++i;
        } else {
            while (i < line.size() && line[i] != ' ')
                arg += line[i++];
        }
        args.push_back(arg);
    }
    return args;
}

// The text a roff source line shows: font macros lose their name (.B joins its arguments
// with spaces, .BR and the like without), other requests show nothing.
std::string roff_line_text(std::string_view line)
{
    if (line.empty() || (line[0] != '.' && line[0] != '\''))
        return unescape_roff(line);
    const std::size_t space = line.find(' ');
    const std::string_view macro = line.substr(1, space == std::string_view::npos ? line.npos : space - 1);
    const std::string_view rest = space == std::string_view::npos ? "" : line.substr(space + 1);
    std::string out;
    if (macro == "B" || macro == "I" || macro == "SM") {
        for (const std::string& arg : roff_arguments(rest))
            out += (out.empty() ? "" : " ") + arg;
    } else if (macro == "BR" || macro == "RB" || macro == "IR" || macro == "RI" || macro == "BI" || macro == "IB") {
        for (const std::string& arg : roff_arguments(rest))
            out += arg;
    }
    return unescape_roff(out);
}

// One ".TP" entry of a section: the tag line's text and the text of the lines after it.
struct ManEntry {
    std::string tag;
    std::string body;
};

// The lines of section `name` (from ".SH name" to the next ".SH").
std::vector<std::string> section_lines(const std::string& page, const std::string& name)
{
    std::vector<std::string> lines;
    std::istringstream in(page);
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.starts_with(".SH ")) {
            const auto args = roff_arguments(std::string_view(line).substr(4));
            std::string title;
            for (const auto& arg : args)
                title += (title.empty() ? "" : " ") + arg;
            inside = title == name;
            continue;
        }
        if (inside)
            lines.push_back(line);
    }
    return lines;
}

// The text of a whole section, lines joined by spaces.
std::string section_text(const std::string& page, const std::string& name)
{
    std::string text;
    for (const std::string& line : section_lines(page, name)) {
        const std::string shown = roff_line_text(line);
        if (!shown.empty())
            text += (text.empty() ? "" : " ") + shown;
    }
    return text;
}

// Every ".TP" entry of a section; an entry ends at the next .TP, .SS or .SH.
std::vector<ManEntry> section_entries(const std::string& page, const std::string& name)
{
    std::vector<ManEntry> entries;
    bool tag_next = false, in_entry = false;
    for (const std::string& line : section_lines(page, name)) {
        if (line == ".TP") {
            entries.emplace_back();
            tag_next = in_entry = true;
            continue;
        }
        if (line.starts_with(".SS")) {
            in_entry = false;
            continue;
        }
        if (!in_entry)
            continue;
        const std::string shown = roff_line_text(line);
        if (tag_next) {
            entries.back().tag = shown;
            tag_next = false;
        } else if (!shown.empty()) {
            entries.back().body += (entries.back().body.empty() ? "" : " ") + shown;
        }
    }
    return entries;
}

// How mercure.conf(5) states a key's type and range: "A duration from 0s to 24h".
std::string type_phrase(const KeySpec& key)
{
    const auto bound = [&](std::uint64_t n) {
        return key.type == KeyType::Duration ? format_duration(Duration(static_cast<Duration::rep>(n)))
             : key.type == KeyType::Size     ? format_size(n)
                                             : std::to_string(n);
    };
    switch (key.type) {
    case KeyType::String: return "A string.";
    case KeyType::Bool: return "A boolean.";
    case KeyType::Duration: return "A duration from " + bound(key.min) + " to " + bound(key.max) + ".";
    case KeyType::Size: return "A size from " + bound(key.min) + " to " + bound(key.max) + ".";
    case KeyType::Integer: return "An integer from " + bound(key.min) + " to " + bound(key.max) + ".";
    case KeyType::StringList: return "A list of strings.";
    }
    return "?";
}

// The text of the call whose "(" is at text[open], up to its matching ")"; string and
// character literals are skipped so that parentheses inside them do not count.
std::string call_text(const std::string& text, std::size_t open)
{
    int depth = 0;
    for (std::size_t i = open; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"' || c == '\'') {
            for (++i; i < text.size() && text[i] != c; ++i)
                if (text[i] == '\\')
                    ++i;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && --depth == 0) {
            return text.substr(open, i - open + 1);
        }
    }
    return text.substr(open);
}

// The journal field names the sources log with: the {"NAME", value} pairs in every
// `.log(...)` call, named as Logger sends them (MERCURE_ unless prefixed or standard).
std::set<std::string> logged_fields()
{
    std::set<std::string> fields{"MERCURE_SUPPRESSED"};
    const auto is_name_char = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; };
    for (const auto& entry : fs::recursive_directory_iterator(source_root() / "src")) {
        if (entry.path().extension() != ".cpp")
            continue;
        const std::string text = read_text(entry.path());
        for (std::size_t at = text.find(".log("); at != std::string::npos; at = text.find(".log(", at + 1)) {
            const std::string call = call_text(text, at + 4);
            for (std::size_t pair = call.find("{\""); pair != std::string::npos; pair = call.find("{\"", pair + 1)) {
                std::size_t end = pair + 2;
                while (end < call.size() && is_name_char(call[end]))
                    ++end;
                if (end == pair + 2 || call[pair + 2] < 'A' || call[pair + 2] > 'Z' || call.compare(end, 2, "\",") != 0)
                    continue;
                std::string name = call.substr(pair + 2, end - pair - 2);
                if (!name.starts_with("MERCURE_") && name != "REMOTE_ADDR")
                    name = "MERCURE_" + name;
                fields.insert(name);
            }
        }
    }
    return fields;
}

std::vector<LogEvent> events_with_ids()
{
    std::vector<LogEvent> events;
    for (int i = 0; i < static_cast<int>(LogEvent::Count_); ++i)
        if (!log_message_id(static_cast<LogEvent>(i)).empty())
            events.push_back(static_cast<LogEvent>(i));
    return events;
}

// ---- mercure.conf(5) and the shipped file against the key table -------------------------

void test_conf_page_has_one_entry_per_key(void**)
{
    const std::string page = read_text(source_root() / "man/mercure.conf.5");
    assert_false(page.empty());
    std::set<std::string> documented;
    for (const ManEntry& entry : section_entries(page, "SETTINGS")) {
        const std::string name = entry.tag.substr(0, entry.tag.find(' '));
        if (!find_key_by_name(name))
            fail_msg("mercure.conf.5 documents \"%s\", which is not a configuration key", name.c_str());
        if (!documented.insert(name).second)
            fail_msg("mercure.conf.5 documents \"%s\" twice", name.c_str());
    }
    for (std::string_view name : config_key_names())
        if (!documented.count(std::string(name)))
            fail_msg("mercure.conf.5 has no entry for the key \"%.*s\" under SETTINGS",
                     static_cast<int>(name.size()), name.data());
}

void test_conf_page_entries_match_the_table(void**)
{
    const std::string page = read_text(source_root() / "man/mercure.conf.5");
    for (const ManEntry& entry : section_entries(page, "SETTINGS")) {
        const auto index = find_key_by_name(entry.tag.substr(0, entry.tag.find(' ')));
        if (!index)
            continue;  // reported by the test above
        const KeySpec& key = config_table()[*index];
        const auto value = parse_value_text(key, key.default_text, ListSyntax::Commas);
        assert_true(value.has_value());
        const std::string where = "mercure.conf.5 entry of " + std::string(key.name);
        const std::string tag = std::string(key.name) + " = " + format_config_value(key, *value);
        if (entry.tag != tag)
            fail_msg("%s: tag is \"%s\", expected \"%s\"", where.c_str(), entry.tag.c_str(), tag.c_str());
        expect_contains(entry.body, type_phrase(key), where);
        expect_contains(entry.body, "Environment variable " + std::string(key.env), where);
        expect_contains(entry.body, "option " + std::string(key.flag) + ".", where);
        if (key.secret)
            expect_contains(entry.body, "Masked in --dump-config.", where);
    }
}

void test_conf_page_lists_unsupported_settings(void**)
{
    const std::string page = section_text(read_text(source_root() / "man/mercure.conf.5"),
                                          "UNSUPPORTED UPSTREAM SETTINGS");
    assert_false(page.empty());
    for (const LegacySetting& setting : unsupported_legacy_settings())
        expect_contains(page, std::string(setting.env), "mercure.conf.5 UNSUPPORTED UPSTREAM SETTINGS");
}

void test_shipped_conf_names_every_key(void**)
{
    const std::string text = read_text(source_root() / "etc/mercure/mercure.conf");
    assert_false(text.empty());
    for (std::string_view name : config_key_names())
        expect_contains(text, "#" + std::string(name) + " = ", "etc/mercure/mercure.conf");
}

// ---- mercure(8) and docs/systemd.md against the logger ------------------------------------

void test_every_message_id_is_documented(void**)
{
    const std::string journal = section_text(read_text(source_root() / "man/mercure.8"), "JOURNAL");
    const std::string guide = read_text(source_root() / "docs/systemd.md");
    assert_false(journal.empty());
    assert_false(guide.empty());
    const auto events = events_with_ids();
    assert_true(events.size() >= 10);
    std::set<std::string_view> unique;
    for (LogEvent event : events) {
        const std::string id(log_message_id(event));
        assert_int_equal(id.size(), 32);
        assert_true(unique.insert(log_message_id(event)).second);
        expect_contains(journal, id, "mercure.8 JOURNAL");
        expect_contains(guide, id, "docs/systemd.md");
    }
}

void test_every_journal_field_is_documented(void**)
{
    const std::string page = read_text(source_root() / "man/mercure.8");
    const std::string journal = section_text(page, "JOURNAL");
    const auto fields = logged_fields();
    // The scan must see the fields we know of, or it is scanning nothing.
    for (const char* known : {"MERCURE_TOPIC", "MERCURE_SUBSCRIBER", "MERCURE_UPDATE_ID", "REMOTE_ADDR", "MERCURE_REASON"})
        assert_true(fields.count(known) == 1);
    std::set<std::string> listed;
    for (const ManEntry& entry : section_entries(page, "JOURNAL"))
        listed.insert(entry.tag);
    for (const std::string& field : fields)
        if (!listed.count(field))
            fail_msg("mercure.8 JOURNAL has no entry for the journal field %s", field.c_str());
}

// ---- the helpers themselves ---------------------------------------------------------------

void test_roff_text(void**)
{
    assert_string_equal(roff_line_text(R"(.BR \-\-heartbeat\-interval .)").c_str(), "--heartbeat-interval.");
    assert_string_equal(roff_line_text(R"(.B addr = \(dq:3000\(dq)").c_str(), "addr = \":3000\"");
    assert_string_equal(roff_line_text(R"(.RB ( "systemctl reload" ,)").c_str(), "(systemctl reload,");
    assert_string_equal(roff_line_text(".TP").c_str(), "");
    assert_string_equal(roff_line_text(R"(plain \fBbold\fR text)").c_str(), "plain bold text");
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roff_text),
        cmocka_unit_test(test_conf_page_has_one_entry_per_key),
        cmocka_unit_test(test_conf_page_entries_match_the_table),
        cmocka_unit_test(test_conf_page_lists_unsupported_settings),
        cmocka_unit_test(test_shipped_conf_names_every_key),
        cmocka_unit_test(test_every_message_id_is_documented),
        cmocka_unit_test(test_every_journal_field_is_documented),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
