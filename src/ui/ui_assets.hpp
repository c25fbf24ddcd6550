// The debug UI's static files (src/ui/), embedded in the binary by src/ui/embed.py.
#pragma once

#include <string_view>

namespace mercure {

// One embedded file: its Content-Type and its bytes, valid for the whole program.
struct UiAsset {
    std::string_view content_type;
    std::string_view body;
};

// The file served at /.well-known/mercure/ui/<relative_path> ("" and "index.html" give the
// page), or nullptr when there is none. The path is matched exactly: no decoding, no "..".
const UiAsset* find_ui_asset(std::string_view relative_path);

} // namespace mercure
