#pragma once
// The report `authsvc import definitions` prints, with or without
// --dry-run: who is imported, who is skipped and why, and where authsvc's
// rules will answer otherwise than the broker's permissions did.
//
// Made to be read for hundreds of users: users whose differences have the
// same shape (the same samples with their own name as <user>) are shown
// once as a group, and then every difference follows, one self-contained
// line each, for grep.

#include <string>

#include "authsvc/import/definitions.h"
#include "authsvc/import/import_plan.h"
#include "authsvc/import/permission_comparison.h"

namespace authsvc {

// `file` names the definitions file, `rules_source` the rules compared with.
std::string format_import_report(const std::string& file, const Definitions& definitions,
                                 const ImportPlan& plan, const PermissionComparison& comparison,
                                 const std::string& rules_source);

// One difference as a line, without indentation or newline, e.g.
// "alice in vhost '/': queue configure 'exchange/alice/x': broker allows, authsvc denies".
std::string format_difference(const PermissionDifference& difference);

}  // namespace authsvc
