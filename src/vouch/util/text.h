// UTF-8 checks and repair for text that reaches JSON: error messages quoting input, headers copied
// into audit events.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vouch {

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or values beyond U+10FFFF).
bool IsValidUtf8(std::string_view s);
// Whether `s` holds a C0 control, DEL, or (in UTF-8 text) a C1 control U+0080..U+009F.
bool HasControlCharacter(std::string_view s);
// `s` with &, < and > (and, with `quotes`, " and ') written as HTML character references: for
// HTML text and attribute values, and for Slack's mrkdwn, which reads &amp; &lt; &gt; only.
std::string EscapeHtml(std::string_view s, bool quotes = true);

// ASCII case-insensitive equality (stage names, keywords).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// `s` with each ill-formed sequence replaced by U+FFFD and cut to at most `max_bytes` bytes on a
// character boundary.
std::string SanitizeUtf8(std::string_view s, size_t max_bytes = std::string::npos);

}  // namespace vouch
