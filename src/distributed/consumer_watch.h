// ConsumerWatch: a submitter's eye on whether anyone takes its run's tasks. A run submitted where
// no worker consumes (a wrong --prefix, no worker started, all of them paused) would otherwise sit
// at 0/s with nothing said: after kQuietFor with no consumer on the task queues it warns once,
// naming the queues and their consumer count, and says so again when workers come back. The
// consumer count is also what progress lines show ("2 workers consuming").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "distributed/broker.h"
#include "distributed/messages.h"

namespace lmover {

class ConsumerWatch {
 public:
  static constexpr std::chrono::seconds kEvery{5}, kQuietFor{10};

  static constexpr int64_t kUnreachable = -2;

  // Looks every `every` until destroyed; `consumers` (if given) gets the count of the task
  // queues' consumers each time (-1 when the broker cannot say, kUnreachable when it cannot be
  // reached), and `paused` whether `lmover control pause` holds the workers.
  ConsumerWatch(const Broker& broker, QueueNames queues, std::atomic<int64_t>* consumers,
                std::chrono::milliseconds every = kEvery, std::atomic<bool>* paused = nullptr);
  ~ConsumerWatch();
  ConsumerWatch(const ConsumerWatch&) = delete;
  ConsumerWatch& operator=(const ConsumerWatch&) = delete;

 private:
  void loop(std::chrono::milliseconds every);
  // The fewest consumers of the task queues, or -1 / kUnreachable; and whether paused.
  int64_t look(bool* paused) const;

  const Broker& broker_;
  QueueNames queues_;
  std::atomic<int64_t>* consumers_;
  std::atomic<bool>* paused_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lmover
