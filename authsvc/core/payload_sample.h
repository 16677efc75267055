#pragma once
// Bytes someone else chose (a message's payload, its routing key, a header)
// as people may be shown them: in a mail, a terminal, a web page's text.
// Nothing in them may change how the rest reads: valid UTF-8 stays as it
// is, except C0 and C1 controls and DEL, the bidirectional marks,
// embeddings, overrides and isolates (U+061C, U+200E, U+200F,
// U+202A-U+202E, U+2066-U+2069) and the line and paragraph separators
// (U+2028, U+2029), which are written \xNN (one byte) or \u{NNNN}; a
// backslash is written \\; a byte that is not UTF-8 is written \xNN. HTML
// is still the page's to escape.

#include <cstddef>
#include <string>
#include <string_view>

namespace authsvc {

// `bytes` escaped as above, at most the first `max_bytes` of them (cut
// before a character that would not fit whole), followed by " ... (N more
// bytes)" when some were left out.
std::string escaped_sample(std::string_view bytes, std::size_t max_bytes);

}  // namespace authsvc
