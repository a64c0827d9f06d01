// Where lmover's log goes and what its lines look like. On a terminal, a pipe or a Slurm output
// file: "2026-12-06T15:04:05.123+0000 error: run ID: ...", each line stamped, because a batch log
// is read hours later beside other logs. Under systemd (stderr is the stream $JOURNAL_STREAM
// names): the journal directly, with the level as the entry's PRIORITY and no stamp (the journal
// keeps its own), so `journalctl -p err -u lmover-worker@*` finds the errors.
#pragma once

#include <optional>
#include <string>

#include <spdlog/common.h>

namespace lmover {

// Before anything is logged: the default logger, to the journal or to stderr.
void start_logging();

// "trace", "debug", "info", "warn" (or "warning"), "error", "off"; std::invalid_argument otherwise.
spdlog::level::level_enum parse_log_level(const std::string& name);

// The level: --log-level when given, else -v (debug) or -q (warn), else info.
void set_log_level(const std::optional<std::string>& log_level, bool verbose, bool quiet);

}  // namespace lmover
