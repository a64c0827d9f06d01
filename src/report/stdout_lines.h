// Lines on stdout (-v and dry-run actions). Each line is one fwrite, so that lines from many
// threads stay whole. When the reader goes away (`lmover sync -v | head`), the run is told once,
// through the hook the command line installs, and ends as if interrupted (summary, --json, lock
// and hard-link area cleaned up) rather than being killed by SIGPIPE half-way through a write.
#pragma once

#include <functional>
#include <string_view>

namespace lmover {

void print_line(std::string_view line);

// `hook` is called once, from the thread whose write found stdout closed (EPIPE).
void on_stdout_closed(std::function<void()> hook);

}  // namespace lmover
