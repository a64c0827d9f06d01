#include "distributed/broker_retry.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lmover {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void BrokerRetry::run(const std::string& what, const std::function<void()>& attempt) const {
  auto backoff = std::chrono::milliseconds(500);
  std::optional<Clock::time_point> lost;
  for (;;) {
    uint64_t contacts = contacts_;
    try {
      attempt();
      if (lost) {
        spdlog::info("{}: the broker is back after {:.1f} s", what,
                     std::chrono::duration<double>(Clock::now() - *lost).count());
      }
      return;
    } catch (const RunNotFound&) {
      throw;
    } catch (const BrokerError& e) {
      auto now = Clock::now();
      if (!lost || contacts_ != contacts) {
        lost = now;
        backoff = std::chrono::milliseconds(500);
      }
      auto spent = now - *lost;
      if (!forever() && spent >= bound_) {
        throw BrokerError(fmt::format("{}; gave up after {} s without the broker (--broker-retry-for)", e.what(),
                                      std::chrono::duration_cast<std::chrono::seconds>(spent).count()));
      }
      auto wait = backoff;
      if (forever()) {
        spdlog::warn("{}: {}; trying again in {:.1f} s", what, e.what(), wait.count() / 1000.0);
      } else {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(bound_ - spent);
        wait = std::min(backoff, left);
        spdlog::warn("{}: {}; trying again in {:.1f} s (giving up in {} s)", what, e.what(), wait.count() / 1000.0,
                     std::chrono::duration_cast<std::chrono::seconds>(left).count());
      }
      for (auto slept = 0ms; slept < wait; slept += 100ms) {
        if (stop_ && stop_->load()) throw Stopped{};
        std::this_thread::sleep_for(std::min(100ms, wait - slept));
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
    }
  }
}

}  // namespace lmover
