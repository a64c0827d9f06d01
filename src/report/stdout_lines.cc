#include "report/stdout_lines.h"

#include <cerrno>
#include <cstdio>
#include <mutex>

namespace lmover {
namespace {

std::mutex g_hook_mutex;
std::function<void()> g_hook;
bool g_told = false;

}  // namespace

void on_stdout_closed(std::function<void()> hook) {
  std::lock_guard lock(g_hook_mutex);
  g_hook = std::move(hook);
}

void print_line(std::string_view line) {
  if (std::fwrite(line.data(), 1, line.size(), stdout) == line.size() || errno != EPIPE) return;
  std::lock_guard lock(g_hook_mutex);
  if (g_told || !g_hook) return;
  g_told = true;
  g_hook();
}

}  // namespace lmover
