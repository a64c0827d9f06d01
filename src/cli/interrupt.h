// SIGINT and SIGTERM: a request to stop, not a crash. The embedded passes stop taking tasks, and
// the ones in hand stop at their next write (as --max-errors stops them), a submitter stops following its run (which goes on on the workers), a
// worker finishes its tasks in hand; then the command cleans up, writes its summary marked
// interrupted and exits 128 + the signal number (130, 143).
#pragma once

#include <atomic>

namespace lmover {

// Installs the handlers (once). Until then, and without a signal, the flag stays false.
void catch_interrupts();
// Set by the first SIGINT/SIGTERM (also settable by others, e.g. `lmover control stop`).
std::atomic<bool>& interrupt_requested();
// The signal that set the flag, 0 when none did.
int interrupt_signal();

}  // namespace lmover
