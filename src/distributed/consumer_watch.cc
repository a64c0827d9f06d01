#include "distributed/consumer_watch.h"

#include <spdlog/spdlog.h>

namespace lmover {

ConsumerWatch::ConsumerWatch(const Broker& broker, QueueNames queues, std::atomic<int64_t>* consumers,
                             std::chrono::milliseconds every, std::atomic<bool>* paused)
    : broker_(broker), queues_(std::move(queues)), consumers_(consumers), paused_(paused) {
  thread_ = std::thread([this, every] { loop(every); });
}

ConsumerWatch::~ConsumerWatch() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

int64_t ConsumerWatch::look(bool* paused) const {
  try {
    std::unique_ptr<BrokerSession> session = broker_.connect();
    *paused = session->ready_messages(queues_.paused()).has_value();
    auto dirs = session->consumers(queues_.dirs()), files = session->consumers(queues_.files());
    if (!dirs || !files) return -1;
    return std::min(*dirs, *files);
  } catch (const BrokerError&) {
    return kUnreachable;  // shown on the progress line; the run itself says what it does about it
  }
}

void ConsumerWatch::loop(std::chrono::milliseconds every) {
  auto quiet_since = std::chrono::steady_clock::now();
  bool warned = false;
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, every, [this] { return stop_; })) {
    lock.unlock();
    bool paused = false;
    int64_t n = look(&paused);
    lock.lock();
    if (consumers_) *consumers_ = n;
    if (paused_) *paused_ = paused;
    auto now = std::chrono::steady_clock::now();
    if (n != 0) {
      if (n > 0 && warned) spdlog::info("{} worker thread(s) consume {} again", n, queues_.dirs());
      if (n > 0) warned = false;
      quiet_since = now;
      continue;
    }
    if (warned || now - quiet_since < kQuietFor) continue;
    warned = true;
    spdlog::warn("no worker is consuming {} and {} on {} (0 consumers for {} s): start 'lmover worker --prefix {}' on "
                 "the data movers, check that they use prefix {}, or resume them if paused ('lmover control resume')",
                 queues_.dirs(), queues_.files(), broker_.where(),
                 std::chrono::duration_cast<std::chrono::seconds>(now - quiet_since).count(), queues_.prefix,
                 queues_.prefix);
  }
}

}  // namespace lmover
