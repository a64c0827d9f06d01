#include "cli/interrupt.h"

#include <signal.h>

#include "report/stdout_lines.h"

namespace lmover {
namespace {

// A signal handler can only reach globals: these two are the only ones.
std::atomic<bool> g_requested{false};
std::atomic<int> g_signal{0};

extern "C" void on_interrupt(int signo) {
  int none = 0;
  g_signal.compare_exchange_strong(none, signo);
  g_requested = true;
}

}  // namespace

void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // A reader of our stdout that went away (`lmover sync -v | head`) is an interruption, told by the
  // write that found the pipe closed. SIGPIPE itself would kill the run mid-write, and a handler
  // for it would also fire for a broker or memcached socket that closed, which is no reason to stop.
  signal(SIGPIPE, SIG_IGN);
  on_stdout_closed([] { on_interrupt(SIGPIPE); });
}

std::atomic<bool>& interrupt_requested() { return g_requested; }
int interrupt_signal() { return g_signal.load(); }

}  // namespace lmover
