#pragma once
// Lists of words in one string: tags and vhosts as the CLI takes them and
// as the store keeps them ("management monitoring").

#include <string>
#include <string_view>
#include <vector>

namespace authsvc {

// The non-empty runs between any of `separators`.
std::vector<std::string> split_words(std::string_view text, std::string_view separators = " ");
std::string join_words(const std::vector<std::string>& words, std::string_view separator = " ");

}  // namespace authsvc
