#pragma once
// What this binary is: the project's version and the git commit it was
// built from (12 hex digits, "-dirty" when the tree had uncommitted
// changes, "unknown" when the build could not tell). For `--version` and
// the authsvc_build_info metric; written at build time by
// cmake/build_info_script.cmake.

namespace authsvc {

extern const char* const kBuildVersion;
extern const char* const kBuildCommit;

}  // namespace authsvc
