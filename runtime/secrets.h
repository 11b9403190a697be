// Resolving secret references ({env: NAME}, {file: PATH}, literals) at the
// moment they are used. The value is returned to the caller only; messages
// name where the secret should come from, never what it is.
#pragma once

#include <string>
#include <string_view>

#include "definitions/common.h"
#include "runtime/status.h"

namespace flowline {

// `what` names the field for messages ("client_secret of OAuth profile 'global.acme_oauth'").
// Errors: "secret_missing" (unset variable, unreadable file, empty value).
// A file's trailing newline is dropped. Files are limited to 64 KiB.
Result<std::string> resolve_secret(const SecretRef& secret, std::string_view what);

}  // namespace flowline
